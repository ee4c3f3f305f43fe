"""Celery tasks: thin, idempotent, take ids."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from customers.models import SyncRun
from customers.services import customers_sync, sync_run_start
from portal.queueing import enqueue_after_commit
from regions.models import Region

log = logging.getLogger(__name__)

# A run still queued after this was never delivered (broker down when it was enqueued, or
# lost): the schedule sends it again. customers_sync ignores a run that is already done.
REQUEUE_AFTER = timedelta(minutes=2)


@shared_task(acks_late=True)
def customers_sync_run(run_id: int) -> None:
    customers_sync(run_id=run_id)


def sync_run_enqueue(run_id: int) -> None:
    """Queue a run after commit; if the broker is down, the next schedule re-sends it."""
    enqueue_after_commit(customers_sync_run, run_id, what="customer sync")


@shared_task(acks_late=True)
def customers_sync_all() -> None:
    """Periodic: queue a sync for every active region (joining any already unfinished)."""
    stale = timezone.now() - REQUEUE_AFTER
    for region in Region.objects.filter(active=True):
        run, created = sync_run_start(region=region, requested_by="schedule")
        if created or (run.status == SyncRun.Status.QUEUED and run.created_at < stale):
            sync_run_enqueue(run.pk)
