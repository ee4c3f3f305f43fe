"""Sending Celery tasks from request handlers and schedules."""

import logging

from celery import Task
from django.db import transaction

log = logging.getLogger(__name__)


def enqueue_after_commit(task: Task, object_id: int, *, what: str) -> None:
    """Send `task(object_id)` once the transaction commits. A broker outage is logged, not
    raised: the object stays queued in the database and its periodic watch sends it again."""

    def send() -> None:
        try:
            task.delay(object_id)
        except Exception as exc:  # kombu and redis raise many types
            log.warning("could not queue %s %s: %s", what, object_id, type(exc).__name__)

    transaction.on_commit(send)
