"""What search does when the apps below it report something (connected in apps.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from customers.signals import sync_finished


def _after_sync(sender: Any, *, region_id: int, **kwargs: Any) -> None:
    # The sync just stored who reaches which customer: plans made before are stale, and the
    # index follows.
    from search.selectors import plans_outdate

    plans_outdate(region_id=region_id)
    if settings.SEARCH_INDEX_AFTER_SYNC:
        from search.tasks import index_refresh_enqueue

        index_refresh_enqueue(region_id)


def connect() -> None:
    sync_finished.connect(_after_sync, dispatch_uid="search-after-sync")
