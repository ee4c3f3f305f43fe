"""A token bucket per (app, tenant), so a sweep stays under Intune's request budget.

Intune allows 2,000 requests per 20 s per app per tenant. The sweep paces itself below that
(COMPLIANCE_THROTTLE_LIMIT / _WINDOW) instead of running into 429s; Retry-After handling in
the Graph client remains the backstop for requests made by others with the same app.

# Reference: https://learn.microsoft.com/en-us/graph/throttling-limits#intune-service-limits
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`limit` requests per `window` seconds, refilled continuously; thread-safe."""

    def __init__(
        self,
        *,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a token bucket needs limit >= 1 and window > 0")
        self.capacity = float(limit)
        self.rate = limit / window
        self._tokens = float(limit)
        self._clock, self._sleep = clock, sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Take one token, waiting for it if the bucket is empty; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return waited
                wait = (1 - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait


class TenantBuckets:
    """One TokenBucket per key (app id, tenant id), created on first use."""

    def __init__(self, *, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, *, app_id: str, tenant_id: str) -> float:
        key = (app_id.lower(), tenant_id.lower())
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(limit=self.limit, window=self.window)
        return bucket.take()
