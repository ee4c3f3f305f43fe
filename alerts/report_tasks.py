"""Celery tasks of the weekly compliance report: thin, idempotent, take ids.

Registered through CELERY_IMPORTS (portal/settings/base.py); beat runs
compliance_report_weekly on COMPLIANCE_REPORT_SCHEDULE.
"""

from __future__ import annotations

from celery import Task, shared_task

from alerts.reports import (
    report_deliveries_create,
    report_deliveries_pending,
    report_delivery_attempt,
)
from portal.queueing import enqueue_after_commit
from regions.models import Region


@shared_task(bind=True, acks_late=True)
def compliance_report_deliver(self: Task, delivery_id: int) -> str:
    """Send one report delivery; a failure is retried with exponential backoff until
    ALERT_DELIVERY_MAX_ATTEMPTS (counted on the delivery row, not by Celery)."""
    attempt = report_delivery_attempt(delivery_id=delivery_id)
    if attempt.retry_in is not None:
        raise self.retry(countdown=attempt.retry_in, max_retries=None)
    return attempt.status


@shared_task(acks_late=True)
def compliance_report_weekly() -> int:
    """This week's report of every active region to its active channels, once per channel;
    this week's deliveries still pending are queued again. Returns the deliveries queued."""
    queued = set(report_deliveries_pending())
    for region in Region.objects.filter(active=True).order_by("pk"):
        queued.update(report_deliveries_create(region=region))
    for delivery_id in sorted(queued):
        enqueue_after_commit(compliance_report_deliver, delivery_id, what="report delivery")
    return len(queued)
