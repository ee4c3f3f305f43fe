"""Serialized pages of generated collections, kept so the simulator does not regenerate and
re-encode the same page for every client that asks (issue 18: it must never dominate a
benchmark).

Only collections that say so (Collection.pages_cacheable) are kept: those whose every item is
a function of the cache key alone (seed, tenant, day, sizes, writes revision), never of the
clock. A page is kept as the JSON text of its `value` array with where the next page starts
and its count; the request-specific parts (@odata.context, nextLink's skiptoken) are rebuilt
per request. The budget is in bytes of that text; the least recently used page goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

DEFAULT_BUDGET = 512 * 1024 * 1024


@dataclass(frozen=True)
class CachedPage:
    value_json: str
    next_position: int | None
    count: int | None


class PageCache:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET) -> None:
        self.budget = budget_bytes
        self._pages: OrderedDict[tuple[Any, ...], CachedPage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[Any, ...]) -> CachedPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: tuple[Any, ...], page: CachedPage) -> None:
        size = len(page.value_json)
        if size > self.budget:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= len(old.value_json)
            self._pages[key] = page
            self._bytes += size
            while self._bytes > self.budget:
                _, evicted = self._pages.popitem(last=False)
                self._bytes -= len(evicted.value_json)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "pages": len(self._pages),
                "bytes": self._bytes,
                "hits": self.hits,
                "misses": self.misses,
            }


PAGES = PageCache()
