from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from mscloud.retry import RetryPolicy, parse_retry_after

NOW = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=10**9))
def test_parse_retry_after_reads_delta_seconds(seconds):
    assert parse_retry_after(str(seconds)) == seconds
    assert parse_retry_after(f"  {seconds} ") == seconds


@given(st.integers(min_value=-86400, max_value=86400 * 365))
def test_parse_retry_after_reads_http_dates_relative_to_now(offset):
    header = format_datetime(NOW + timedelta(seconds=offset), usegmt=True)

    assert parse_retry_after(header, now=NOW) == max(0, offset)


def test_parse_retry_after_reads_the_obsolete_date_formats_rfc_7231_allows():
    assert parse_retry_after("Thursday, 26-Nov-26 10:00:30 GMT", now=NOW) == 30
    assert parse_retry_after("Thu Nov 26 10:00:30 2026", now=NOW) == 30


@given(st.text())
def test_parse_retry_after_never_raises_and_never_returns_a_negative_wait(value):
    result = parse_retry_after(value, now=NOW)

    assert result is None or (math.isfinite(result) and result >= 0)


def test_parse_retry_after_rejects_what_is_not_a_delay():
    for value in (None, "", "-5", "soon", "1e9", "NaN", "9" * 40):
        assert parse_retry_after(value, now=NOW) is None


@given(st.integers(min_value=1, max_value=200), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_between_zero_and_the_capped_exponential_ceiling(attempt, seed):
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0)

    delay = policy.backoff(attempt, random.Random(seed))

    assert 0 <= delay <= min(8.0, 0.5 * 2 ** (attempt - 1))
