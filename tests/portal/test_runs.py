"""The leased-run lifecycle (portal/runs.py) on the real database, without Microsoft.

ComplianceSweep stands in for any LeasedRun: it has no foreign keys, so rows are made directly.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.models import ComplianceSweep
from compliance.tasks import compliance_sweep_run
from portal.runs import (
    LeaseLost,
    RunStatus,
    row_compare_and_set,
    run_claim,
    run_finish,
    run_heartbeat,
    run_request,
    run_start,
    run_update,
    runs_abandoned,
)

pytestmark = pytest.mark.django_db

KEY = {"scope": "all"}


@pytest.fixture(autouse=True)
def lease(settings):
    settings.COMPLIANCE_SWEEP_LEASE_SECONDS = 60
    settings.COMPLIANCE_SWEEP_MAX_ATTEMPTS = 3
    return settings


def _silent(run: ComplianceSweep, seconds: int = 300) -> None:
    """Make the run's worker look dead: its last heartbeat is older than the lease."""
    ComplianceSweep.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_second_start_joins_the_unfinished_run():
    first, created = run_start(ComplianceSweep, key=KEY, requested_by="a")
    again, created_again = run_start(ComplianceSweep, key=KEY, requested_by="b")
    assert created and not created_again
    assert again.pk == first.pk and again.requested_by == "a"


def test_the_database_refuses_a_second_unfinished_run_for_one_key():
    ComplianceSweep.objects.create(scope="all")
    with pytest.raises(IntegrityError), transaction.atomic():
        ComplianceSweep.objects.create(scope="all", status=RunStatus.RUNNING)
    ComplianceSweep.objects.create(scope="all", status=RunStatus.DONE)  # finished ones may pile up
    ComplianceSweep.objects.create(scope="eu")  # another key has a lock of its own


def test_a_start_retries_once_when_the_unfinished_run_finished_in_between(monkeypatch):
    other, _ = run_start(ComplianceSweep, key=KEY)
    real_filter = ComplianceSweep.objects.filter

    def finish_before_the_join(*args, **kwargs):
        # Our insert lost to `other`; it finishes before we read it back.
        if "status__in" in kwargs:
            real_filter(pk=other.pk).update(status=RunStatus.DONE)
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(ComplianceSweep.objects, "filter", finish_before_the_join)
    run, created = run_start(ComplianceSweep, key=KEY)
    assert created and run.pk != other.pk


def test_a_request_audits_and_queues_only_the_run_it_created(monkeypatch):
    queued, audited = [], []
    monkeypatch.setattr(
        "portal.runs.enqueue_after_commit", lambda task, pk, what: queued.append((task, pk))
    )
    first, created = run_request(
        ComplianceSweep, key=KEY, task=compliance_sweep_run, audit=audited.append
    )
    again, created_again = run_request(
        ComplianceSweep, key=KEY, task=compliance_sweep_run, audit=audited.append
    )
    assert created and not created_again and again.pk == first.pk
    assert queued == [(compliance_sweep_run, first.pk)]
    assert audited == [first]


def test_a_claim_refuses_a_live_lease_and_takes_over_an_expired_one():
    run, _ = run_start(ComplianceSweep, key=KEY)
    first = run_claim(ComplianceSweep, pk=run.pk)
    assert first is not None and first.status == RunStatus.RUNNING and first.attempts == 1
    assert run_claim(ComplianceSweep, pk=run.pk) is None  # alive: a redelivered task backs off
    _silent(run)
    second = run_claim(ComplianceSweep, pk=run.pk)
    assert second is not None and second.attempts == 2
    assert second.lease_owner and second.lease_owner != first.lease_owner
    assert second.started_at == first.started_at  # the run started once, however often claimed


def test_a_finished_run_is_never_claimed():
    run, _ = run_start(ComplianceSweep, key=KEY)
    claimed = run_claim(ComplianceSweep, pk=run.pk)
    run_finish(claimed, status=RunStatus.DONE)
    _silent(run)
    assert run_claim(ComplianceSweep, pk=run.pk) is None


def test_a_fenced_update_after_a_takeover_raises_lease_lost_and_writes_nothing():
    run, _ = run_start(ComplianceSweep, key=KEY)
    old = run_claim(ComplianceSweep, pk=run.pk)
    _silent(run)
    new = run_claim(ComplianceSweep, pk=run.pk)
    with pytest.raises(LeaseLost):
        run_update(old, total=99)
    with pytest.raises(LeaseLost):
        run_heartbeat(old)
    with pytest.raises(LeaseLost):
        run_finish(old, status=RunStatus.DONE)
    stored = ComplianceSweep.objects.get(pk=run.pk)
    assert (stored.status, stored.total, stored.lease_owner) == ("running", 0, new.lease_owner)
    assert stored.finished_at is None
    run_finish(new, status=RunStatus.DONE)  # the new owner's writes go through
    assert ComplianceSweep.objects.get(pk=run.pk).status == RunStatus.DONE


def test_a_claim_is_a_compare_and_set_even_without_row_locks():
    # SQLite ignores FOR UPDATE: two workers may both read the queued row; one write wins.
    run, _ = run_start(ComplianceSweep, key=KEY)
    seen_by_a = ComplianceSweep.objects.get(pk=run.pk)
    seen_by_b = ComplianceSweep.objects.get(pk=run.pk)
    expect = ("status", "lease_owner", "attempts")
    assert row_compare_and_set(seen_by_a, expect=expect, status="running", lease_owner="a")
    assert not row_compare_and_set(seen_by_b, expect=expect, status="running", lease_owner="b")
    assert ComplianceSweep.objects.get(pk=run.pk).lease_owner == "a"
    assert seen_by_b.lease_owner == ""  # the loser's row is left as it read it


def test_a_run_claimed_too_often_is_failed_with_a_sentence_and_releases_its_lock():
    run, _ = run_start(ComplianceSweep, key=KEY)
    for _ in range(3):
        assert run_claim(ComplianceSweep, pk=run.pk) is not None
        _silent(run)
    assert run_claim(ComplianceSweep, pk=run.pk) is None
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.finished_at is not None
    assert run.error.startswith("The sweep was interrupted 3 times")
    assert run.error.endswith("then start a new one.")
    assert run_start(ComplianceSweep, key=KEY)[1] is True


def test_abandoned_runs_are_the_silent_running_ones_and_the_queued_ones_never_delivered():
    lost, _ = run_start(ComplianceSweep, key={"scope": "lost"})
    fresh, _ = run_start(ComplianceSweep, key={"scope": "fresh"})
    alive, _ = run_start(ComplianceSweep, key={"scope": "alive"})
    dead, _ = run_start(ComplianceSweep, key={"scope": "dead"})
    ComplianceSweep.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    run_claim(ComplianceSweep, pk=alive.pk)
    run_claim(ComplianceSweep, pk=dead.pk)
    _silent(dead)
    assert runs_abandoned(ComplianceSweep) == [lost.pk, dead.pk]
    assert fresh.pk not in runs_abandoned(ComplianceSweep)


def test_a_heartbeat_keeps_a_slow_run_from_being_taken_over():
    run, _ = run_start(ComplianceSweep, key=KEY)
    claimed = run_claim(ComplianceSweep, pk=run.pk)
    _silent(run)
    run_heartbeat(claimed, done=1)
    assert run_claim(ComplianceSweep, pk=run.pk) is None
    assert ComplianceSweep.objects.get(pk=run.pk).done == 1


def test_a_heartbeat_with_every_skips_the_write_when_the_last_beat_is_younger():
    run, _ = run_start(ComplianceSweep, key=KEY)
    claimed = run_claim(ComplianceSweep, pk=run.pk)  # beat just now, as far as it knows
    _silent(run)  # the row on disk shows whether the next beat writes
    run_heartbeat(claimed, every=15, done=1)
    assert runs_abandoned(ComplianceSweep) == [run.pk]
    assert ComplianceSweep.objects.get(pk=run.pk).done == 0
    claimed.heartbeat_at = timezone.now() - timedelta(seconds=20)
    run_heartbeat(claimed, every=15)
    assert runs_abandoned(ComplianceSweep) == []
