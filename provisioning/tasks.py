"""Celery tasks: thin, idempotent; the database holds the schedule (no ETA tasks)."""

from celery import shared_task

from provisioning.services import provisioning_run_due


@shared_task(acks_late=True, ignore_result=True)
def provisioning_tick() -> int:
    """Periodic (beat, every few seconds): run the provisioning attempts that are due."""
    return provisioning_run_due()
