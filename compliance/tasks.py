"""Celery tasks: thin, idempotent, take ids."""

import logging
from collections.abc import Callable

from celery import shared_task

from compliance.models import ComplianceSweep
from compliance.services import (
    chunks_abandoned,
    compliance_sweep,
    snapshots_prune,
    sweep_chunk_work,
    sweep_key,
    sweeps_abandoned,
)
from portal.queueing import enqueue_after_commit
from portal.runs import run_request
from regions.models import Region

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def compliance_sweep_run(sweep_id: int) -> None:
    # Redelivered after its worker died (acks_late + reject_on_worker_lost), it takes the sweep
    # over once the dead worker's lease has run out; before that, compliance_sweep_watch will.
    compliance_sweep(sweep_id=sweep_id, enqueue=chunk_enqueue)


@shared_task(acks_late=True)
def compliance_sweep_chunk_run(chunk_id: int) -> None:
    # One slice of a sweep, on whichever worker takes the message; a chunk held by a live
    # worker (or already done) is left alone, a silent one's is taken over.
    sweep_chunk_work(chunk_id=chunk_id)


def chunk_enqueue(chunk_id: int) -> None:
    """Queue a chunk after commit; if the broker is down, compliance_sweep_watch re-sends it."""
    enqueue_after_commit(compliance_sweep_chunk_run, chunk_id, what="sweep chunk")


def sweep_enqueue(sweep_id: int) -> None:
    """Queue a sweep after commit; if the broker is down, compliance_sweep_watch re-sends it."""
    enqueue_after_commit(compliance_sweep_run, sweep_id, what="compliance sweep")


def sweep_request(
    *,
    region: Region | None,
    requested_by: str = "",
    audit: Callable[[ComplianceSweep], None] | None = None,
) -> tuple[ComplianceSweep, bool]:
    """Start a sweep of `region` (None: every region) or join its unfinished one; a new one is
    audited and queued."""
    return run_request(
        ComplianceSweep,
        key=sweep_key(region),
        task=compliance_sweep_run,
        audit=audit,
        requested_by=requested_by,
    )


@shared_task(acks_late=True)
def compliance_sweep_scheduled() -> None:
    """Periodic: queue a sweep of each active region unless one is already queued or running.
    One sweep per region: a region's progress and failures are its own people's business."""
    for region in Region.objects.filter(active=True).order_by("pk"):
        sweep_request(region=region, requested_by="schedule")
    compliance_sweep_watch()


@shared_task(acks_late=True)
def compliance_sweep_watch() -> None:
    """Periodic: send again the sweeps and chunks nobody works on (dead worker, lost
    message). A sweep whose chunks all went silent is sent again too: its worker re-plans
    nothing, queues the unfinished chunks and finishes the sweep when they are done."""
    for chunk_id in chunks_abandoned():
        chunk_enqueue(chunk_id)
    for sweep_id in sweeps_abandoned():
        sweep_enqueue(sweep_id)


@shared_task(acks_late=True)
def compliance_snapshots_prune() -> int:
    """Periodic: forget snapshots older than COMPLIANCE_RETENTION_DAYS."""
    return snapshots_prune()
