"""When to retry a Microsoft call and how long to wait first."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# The service says the request was not processed and names a time to come back.
RETRY_LATER_STATUSES = frozenset({429, 503})
# A gateway failed: the backend may or may not have acted, so only idempotent calls retry.
GATEWAY_STATUSES = frozenset({502, 504})

_DELTA_SECONDS = re.compile(r"\d{1,12}(\.\d{1,6})?")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    # A wait longer than this is not slept through: the caller gets a Throttled error at once.
    max_retry_after: float = 30.0
    backoff_base: float = 0.5
    backoff_cap: float = 8.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Capped exponential backoff with full jitter, for attempt 1, 2, …"""
        return rng.uniform(0, self.backoff_ceiling(attempt))

    def backoff_ceiling(self, attempt: int) -> float:
        return min(self.backoff_cap, self.backoff_base * 2 ** min(max(attempt - 1, 0), 32))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date, RFC 7231 7.1.3).

    None when absent or unreadable, so the caller falls back to backoff.
    """
    if value is None:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # HTTP dates are always GMT; "-0000" parses as naive.
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
