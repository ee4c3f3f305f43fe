"""The in-process token bucket (the fallback of the shared Graph budgets, regions.throttle)."""

from __future__ import annotations

import pytest

from mscloud.pacing import TokenBucket, call_of


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_token_bucket_lets_a_burst_through_then_paces_to_the_limit():
    clock = FakeClock()
    bucket = TokenBucket(limit=10, window=20, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        assert bucket.take() == 0
    # 10 per 20 s: the 11th request waits 2 s, the 12th another 2 s.
    assert bucket.take() == pytest.approx(2.0)
    assert bucket.take() == pytest.approx(2.0)
    assert clock.now == pytest.approx(4.0)


def test_the_token_bucket_refuses_a_nonsense_limit():
    with pytest.raises(ValueError):
        TokenBucket(limit=0, window=20)


def test_a_bucket_keeps_a_reserve_for_others_and_a_call_names_its_path_without_the_query():
    clock = FakeClock()
    bucket = TokenBucket(limit=10, window=10, clock=clock, sleep=clock.sleep)
    for _ in range(7):
        assert bucket.wait_for(1, reserve=3) == 0
    # Three tokens are left: a caller that must leave three waits a second for the next one,
    # a caller without a reserve takes them.
    assert bucket.wait_for(1, reserve=3) == pytest.approx(1.0)
    assert bucket.wait_for(3) == 0
    assert call_of("get", "/deviceManagement/managedDevices?$top=5") == (
        "GET",
        "/deviceManagement/managedDevices",
    )
