"""Celery tasks: thin, idempotent, take ids."""

from celery import shared_task

from compliance.services import compliance_sweep, snapshots_prune, sweep_start


@shared_task(acks_late=True)
def compliance_sweep_run(sweep_id: int) -> None:
    compliance_sweep(sweep_id=sweep_id)


@shared_task(acks_late=True)
def compliance_sweep_scheduled() -> None:
    """Periodic: queue a sweep unless one is already queued or running."""
    sweep, created = sweep_start(requested_by="schedule")
    if created:
        compliance_sweep_run.delay(sweep.pk)


@shared_task(acks_late=True)
def compliance_snapshots_prune() -> int:
    """Periodic: forget snapshots older than COMPLIANCE_RETENTION_DAYS."""
    return snapshots_prune()
