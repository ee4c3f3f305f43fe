from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from mscloud.errors import GraphThrottled, GraphUnavailable

from .fakes import graph_error, reply


def throttled(retry_after: str | None = None):
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    return graph_error(429, "TooManyRequests", "Too many requests.", headers=headers)


def test_it_honours_retry_after_given_in_seconds(graph, fake, sleeps):
    fake.queue(throttled("7"), reply({"id": "org"}))

    assert graph.get("/organization") == {"id": "org"}
    assert sleeps.delays == [7.0]


def test_it_honours_retry_after_given_as_an_http_date(graph, fake, sleeps):
    when = datetime.now(UTC) + timedelta(seconds=12)
    fake.queue(throttled(format_datetime(when, usegmt=True)), reply({"id": "org"}))

    graph.get("/organization")

    assert len(sleeps.delays) == 1
    assert 10 <= sleeps.delays[0] <= 12


def test_a_retry_after_date_in_the_past_means_retry_now(graph, fake, sleeps):
    fake.queue(throttled("Wed, 21 Oct 2015 07:28:00 GMT"), reply({}))

    graph.get("/organization")

    assert sleeps.delays == [0.0]


def test_without_retry_after_it_backs_off_exponentially_with_full_jitter(make_graph, fake, sleeps):
    graph = make_graph(max_attempts=8, backoff_base=0.5, backoff_cap=3.0)
    fake.queue(*[reply(None, status=503) for _ in range(7)], reply({"id": "org"}))

    graph.get("/organization")

    ceilings = [0.5, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0]
    assert len(sleeps.delays) == 7
    assert all(0 <= d <= c for d, c in zip(sleeps.delays, ceilings, strict=True))
    # Full jitter: spread over the range, not pinned to the ceiling or to each other.
    assert len(set(sleeps.delays)) == 7
    assert any(d < c / 2 for d, c in zip(sleeps.delays, ceilings, strict=True))


def test_a_retry_after_above_the_cap_raises_graph_throttled_at_once(graph, fake, sleeps):
    fake.queue(throttled("120"))

    with pytest.raises(GraphThrottled) as caught:
        graph.get("/users")

    assert caught.value.retry_after == 120
    assert caught.value.transient
    assert "Try again in 120 s." in str(caught.value)
    assert sleeps.delays == [] and len(fake.seen) == 1


def test_it_raises_graph_throttled_with_retry_after_when_the_attempts_run_out(graph, fake, sleeps):
    fake.queue(*[throttled("2") for _ in range(4)])

    with pytest.raises(GraphThrottled) as caught:
        graph.get("/users")

    assert caught.value.retry_after == 2
    assert caught.value.code == "TooManyRequests"
    assert sleeps.delays == [2.0, 2.0, 2.0]
    assert len(fake.seen) == 4


def test_throttled_without_retry_after_still_tells_the_caller_when_to_come_back(graph, fake):
    fake.queue(*[throttled() for _ in range(4)])

    with pytest.raises(GraphThrottled) as caught:
        graph.get("/users")

    assert caught.value.retry_after is not None and caught.value.retry_after > 0


def test_a_burst_of_5xx_then_success_returns_the_result(graph, fake, sleeps):
    fake.queue(
        reply(None, status=503),
        reply(None, status=502),
        reply(None, status=504),
        reply({"value": [{"id": "u1"}]}),
    )

    assert graph.get("/users") == {"value": [{"id": "u1"}]}
    assert len(sleeps.delays) == 3
    # One logical call: the same client-request-id on every attempt, for support tickets.
    assert len({s.headers["Client-Request-Id"] for s in fake.seen}) == 1


def test_5xx_that_outlasts_the_attempts_becomes_graph_unavailable(graph, fake):
    fake.queue(*[reply(None, status=503) for _ in range(4)])

    with pytest.raises(GraphUnavailable) as caught:
        graph.get("/users")

    assert caught.value.status == 503


def test_a_500_is_not_retried(graph, fake):
    fake.queue(graph_error(500, "generalException", "Boom"))

    with pytest.raises(GraphUnavailable, match="Boom"):
        graph.get("/users")

    assert len(fake.seen) == 1


def test_a_post_is_not_resent_after_a_gateway_error_unless_idempotent(graph, fake):
    fake.queue(reply(None, status=502), reply(None, status=502), reply({"ok": True}))

    with pytest.raises(GraphUnavailable):
        graph.post("/groups/g/members/$ref", {"@odata.id": "x"})
    assert graph.post("/things/query", {"q": 1}, idempotent=True) == {"ok": True}


def test_a_post_is_resent_after_429_because_throttled_requests_did_not_run(graph, fake, sleeps):
    fake.queue(throttled("1"), reply(None, status=204))

    assert graph.post("/groups/g/members/$ref", {"@odata.id": "x"}) == {}
    assert [s.body for s in fake.seen] == [{"@odata.id": "x"}] * 2
