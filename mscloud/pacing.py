"""Pacing calls under Microsoft's request budgets: what the HTTP clients ask before each attempt.

Microsoft counts requests per (app, tenant) and service — Intune's device service 2,000 per
20 s, its writes 200, each item of a $batch counted on its own — and answers 429 with
Retry-After once a budget is spent. A `Gate` is what a client asks before every attempt
("may these calls go now?") and tells after a 429 ("Microsoft said wait this long"); the
portal's gate keeps both in Redis so every process spends one budget (regions.throttle).
`TokenBucket` is the same budget held in one process (the fallback without Redis).

# Reference: https://learn.microsoft.com/graph/throttling
# Reference: https://learn.microsoft.com/graph/throttling-limits#intune-service-limits
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

# One request as Microsoft counts it: (HTTP method, path below the API version, no query),
# e.g. ("GET", "/deviceManagement/managedDevices"). A $batch is one Call per item.
Call = tuple[str, str]


class Gate(Protocol):
    """Admission of calls to Microsoft for one (app, tenant)."""

    def admit(self, calls: Sequence[Call], *, max_wait: float) -> float | None:
        """Wait until `calls` may be sent and count them; None once admitted. When the wait
        would be longer than `max_wait` seconds, nothing is counted and the seconds still to
        wait are returned (the caller reports "throttled" instead of holding a thread)."""
        ...

    def hold(self, calls: Sequence[Call], seconds: float) -> None:
        """Microsoft answered 429/503 with Retry-After `seconds` for `calls`: every caller
        of the same budgets waits that long before sending."""
        ...


def call_of(method: str, path: str) -> Call:
    """The Call for a request path (query dropped), relative to the API version."""
    return (method.upper(), path.split("?", 1)[0].split("#", 1)[0])


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

    def wait_for(self, count: float = 1, *, reserve: float = 0) -> float:
        """Seconds until `count` tokens can be taken leaving `reserve` (0: take them now)."""
        count = min(count, max(1.0, self.capacity - reserve))
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            need = count + reserve - self._tokens
            if need <= 0:
                self._tokens -= count
                return 0.0
            return need / self.rate

    def take(self, count: float = 1) -> float:
        """Take `count` tokens, waiting for them if needed; returns the seconds waited."""
        waited = 0.0
        while (wait := self.wait_for(count)) > 0:
            self._sleep(wait)
            waited += wait
        return waited
