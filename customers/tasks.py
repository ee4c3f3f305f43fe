"""Celery tasks: thin, idempotent, take ids."""

from celery import shared_task

from customers.services import customers_sync, sync_run_start
from regions.models import Region


@shared_task(acks_late=True)
def customers_sync_run(run_id: int) -> None:
    customers_sync(run_id=run_id)


@shared_task(acks_late=True)
def customers_sync_all() -> None:
    """Periodic: queue a sync for every active region (joining any already unfinished)."""
    for region in Region.objects.filter(active=True):
        run, created = sync_run_start(region=region, requested_by="schedule")
        if created:
            customers_sync_run.delay(run.pk)
