"""Celery tasks: thin, idempotent, take ids."""

import logging

from celery import shared_task

from compliance.services import compliance_sweep, snapshots_prune, sweep_start, sweeps_abandoned
from portal.queueing import enqueue_after_commit

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def compliance_sweep_run(sweep_id: int) -> None:
    # Redelivered after its worker died (acks_late + reject_on_worker_lost), it takes the sweep
    # over once the dead worker's lease has run out; before that, compliance_sweep_watch will.
    compliance_sweep(sweep_id=sweep_id)


def sweep_enqueue(sweep_id: int) -> None:
    """Queue a sweep after commit; if the broker is down, compliance_sweep_watch re-sends it."""
    enqueue_after_commit(compliance_sweep_run, sweep_id, what="compliance sweep")


@shared_task(acks_late=True)
def compliance_sweep_scheduled() -> None:
    """Periodic: queue a sweep unless one is already queued or running."""
    sweep, created = sweep_start(requested_by="schedule")
    if created:
        sweep_enqueue(sweep.pk)
    compliance_sweep_watch()


@shared_task(acks_late=True)
def compliance_sweep_watch() -> None:
    """Periodic: send again the sweeps nobody works on (dead worker, lost message)."""
    for sweep_id in sweeps_abandoned():
        sweep_enqueue(sweep_id)


@shared_task(acks_late=True)
def compliance_snapshots_prune() -> int:
    """Periodic: forget snapshots older than COMPLIANCE_RETENTION_DAYS."""
    return snapshots_prune()
