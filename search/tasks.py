"""Celery tasks: thin, idempotent, take ids."""

from __future__ import annotations

from celery import shared_task

from portal.queueing import enqueue_after_commit
from search.index import index_refresh


@shared_task(acks_late=True)
def search_index_refresh(region_id: int) -> dict | None:
    """Refresh one region's search index (a second one for the region while it runs is a
    no-op: the next sync refreshes again)."""
    summary = index_refresh(region_id=region_id)
    if summary is None:
        return None
    return {
        "indexed": summary.indexed,
        "failed": summary.failed,
        "removed": summary.removed,
        "requests": summary.requests,
        "seconds": summary.seconds,
    }


def index_refresh_enqueue(region_id: int) -> None:
    enqueue_after_commit(search_index_refresh, region_id, what="search index refresh")
