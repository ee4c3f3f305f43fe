"""Celery tasks: thin, idempotent, take ids."""

import logging
from collections.abc import Callable

from celery import shared_task
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction

from customers.action_records import action_records_prune
from customers.bulk import bulk_execute, bulk_grants_tidy, bulk_runs_abandoned
from customers.consent_jobs import (
    consent_grants_tidy,
    consent_run_start,
    consent_runs_abandoned,
    customers_consent,
)
from customers.models import BulkRun, ConsentRun, SyncRun
from customers.services import customers_sync, syncs_abandoned
from portal.queueing import enqueue_after_commit
from portal.runs import run_request
from regions.models import Region

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def customers_sync_run(run_id: int) -> None:
    # Redelivered after its worker died (acks_late + reject_on_worker_lost), it takes the sync
    # over once the dead worker's lease has run out; before that, customers_sync_watch will.
    customers_sync(run_id=run_id)


def sync_run_enqueue(run_id: int) -> None:
    """Queue a run after commit; if the broker is down, customers_sync_watch re-sends it."""
    enqueue_after_commit(customers_sync_run, run_id, what="customer sync")


def sync_run_request(
    *, region: Region, requested_by: str = "", audit: Callable[[SyncRun], None] | None = None
) -> tuple[SyncRun, bool]:
    """Start the region's sync or join the unfinished one; a new one is audited and queued."""
    return run_request(
        SyncRun,
        key={"region": region},
        task=customers_sync_run,
        audit=audit,
        requested_by=requested_by,
    )


@shared_task(acks_late=True)
def customers_sync_all() -> None:
    """Periodic: queue a sync for every active region (joining any already unfinished)."""
    for region in Region.objects.filter(active=True):
        sync_run_request(region=region, requested_by="schedule")
    customers_sync_watch()


@shared_task(acks_late=True)
def customers_sync_watch() -> None:
    """Periodic: send again the syncs nobody works on (dead worker, lost message)."""
    for run_id in syncs_abandoned():
        sync_run_enqueue(run_id)


@shared_task(acks_late=True)
def customers_consent_run(run_id: int) -> None:
    """A consent job; its message carries the run id only (the grant id is on the run)."""
    customers_consent(run_id=run_id)


def consent_run_request(
    *,
    region: Region,
    session: SessionBase,
    requested_by: str,
    audit: Callable[[ConsentRun], None] | None = None,
) -> tuple[ConsentRun | None, bool]:
    """Start the region's consent job as the signed-in admin (their tokens lent to it) or join
    the unfinished one; a new one is audited and queued. (None, False): nothing to consent."""
    with transaction.atomic():
        run, created = consent_run_start(region=region, session=session, requested_by=requested_by)
        if created and run is not None:
            if audit is not None:
                audit(run)
            enqueue_after_commit(customers_consent_run, run.pk, what=ConsentRun.run_noun)
    return run, created


@shared_task(acks_late=True)
def customers_consent_watch() -> None:
    """Periodic: send again the consent jobs nobody works on; end and purge stale grants."""
    for run_id in consent_runs_abandoned():
        enqueue_after_commit(customers_consent_run, run_id, what=ConsentRun.run_noun)
    consent_grants_tidy()


# A bulk job paced under Intune's write limit can outlast the default 15-minute limit (5,000
# devices at 150 writes / 20 s take 11 minutes); it beats all along and cannot outlive the
# tokens lent to it, so its grant's lifetime bounds it instead.
@shared_task(acks_late=True, time_limit=settings.BULK_GRANT_TTL_SECONDS)
def bulk_run(run_id: int) -> None:
    """A bulk action; its message carries the run id only (the grant id is on the run)."""
    bulk_execute(run_id=run_id)


@shared_task(acks_late=True)
def bulk_runs_watch() -> None:
    """Periodic: send again the bulk actions nobody works on; end and purge stale grants;
    forget action form keys too old to be sent again."""
    for run_id in bulk_runs_abandoned():
        enqueue_after_commit(bulk_run, run_id, what=BulkRun.run_noun)
    bulk_grants_tidy()
    action_records_prune()
