"""Celery tasks: thin, idempotent, take ids."""

from __future__ import annotations

from celery import Task, shared_task

from alerts.notifications import deliveries_stuck, delivery_attempt
from portal.queueing import enqueue_after_commit


@shared_task(bind=True, acks_late=True)
def alert_deliver(self: Task, delivery_id: int) -> str:
    """Send one delivery; a failure is retried with exponential backoff until
    ALERT_DELIVERY_MAX_ATTEMPTS (counted on the delivery row, not by Celery)."""
    attempt = delivery_attempt(delivery_id=delivery_id)
    if attempt.retry_in is not None:
        raise self.retry(countdown=attempt.retry_in, max_retries=None)
    return attempt.status


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    """Queue each delivery once the transaction that created it commits."""
    for delivery_id in delivery_ids:
        enqueue_after_commit(alert_deliver, delivery_id, what="alert delivery")


@shared_task(acks_late=True)
def alert_deliveries_watch() -> int:
    """Periodic: queue again the pending deliveries nobody sent (dead worker, lost message);
    the claim in delivery_attempt keeps a delivery queued twice from being sent twice."""
    stuck = deliveries_stuck()
    deliveries_enqueue(stuck)
    return len(stuck)
