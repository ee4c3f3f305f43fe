"""A worker SIGKILLed mid-sweep: another worker takes the sweep over and finishes it once.

Real processes throughout: a solo-pool worker reads one customer at a time from a slowed
simulator and is killed (the whole process group, no cleanup, no ack) while the sweep is under
way; a second worker and beat (watching every second, a 3 s lease) take it over.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from compliance.models import ComplianceSnapshot, ComplianceSweep
from compliance.services import sweep_start
from compliance.tasks import compliance_sweep_run
from tests.celeryproc import CeleryProcess, db_env, start_worker

log = logging.getLogger(__name__)

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

LEASE = "3"


def _wait(check: Callable[[], Any], what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout} s: {list(ComplianceSweep.objects.all())}")


def _beat(queue: str, tmp_path: Any) -> CeleryProcess:
    return CeleryProcess(
        ["beat", "--loglevel", "INFO", "-s", str(tmp_path / "beat-schedule")],
        {
            **db_env(),
            "CELERY_QUEUE": queue,
            "COMPLIANCE_SWEEP_WATCH_SECONDS": "1",
            # Only the watch matters here; the others would never be due during the test.
            "PROVISIONING_TICK_SECONDS": "3600",
            "CUSTOMER_SYNC_INTERVAL": "86400",
            "COMPLIANCE_SWEEP_INTERVAL": "86400",
        },
        "celery-compliance-beat.log",
    )


def _graph_reads(sim: Any) -> Counter:
    return Counter(
        r.get("tenant")
        for r in sim.requests()["requests"]
        if r["kind"] == "graph" and "managedDevices" in r.get("path", "")
    )


def test_a_sweep_whose_worker_is_killed_is_finished_by_another_with_one_snapshot_each(
    sim: Any, customers: dict[str, list[Any]], tmp_path: Any
) -> None:
    everyone = [c for region in customers.values() for c in region]
    queue = f"compliance-kill-{os.getpid()}"
    # Every Microsoft request takes 0.4 s and the doomed worker reads one customer at a time,
    # so the sweep (18 customers) needs ~20 s: long enough to die in the middle of it.
    sim.faults(latency_ms=400)
    doomed = start_worker(
        f"{queue}-doomed",
        "compliance-doomed",
        COMPLIANCE_CONCURRENCY="1",
        COMPLIANCE_SWEEP_LEASE_SECONDS=LEASE,
    )
    second = beat = None
    try:
        sweep, created = sweep_start(requested_by="test")
        assert created
        compliance_sweep_run.apply_async((sweep.pk,), queue=f"{queue}-doomed")
        _wait(
            lambda: ComplianceSweep.objects.filter(pk=sweep.pk, done__gte=3).exists(),
            "three customers swept",
            timeout=60,
        )
        doomed.kill()
        killed_at = time.monotonic()
        before = {s.customer_id: s.pk for s in ComplianceSnapshot.objects.filter(sweep_id=sweep.pk)}
        killed = ComplianceSweep.objects.get(pk=sweep.pk)
        assert killed.status == "running" and 3 <= killed.done < len(everyone), killed.__dict__
        reads_before = _graph_reads(sim)

        sim.faults(latency_ms=0)
        second = start_worker(queue, "compliance-second", COMPLIANCE_SWEEP_LEASE_SECONDS=LEASE)
        beat = _beat(queue, tmp_path)
        done = _wait(
            lambda: ComplianceSweep.objects.filter(pk=sweep.pk, status="done").first(),
            "the sweep finished by the second worker",
            timeout=90,
        )
        log.info(
            "killed at %d/%d customers; finished by the second worker %.1f s later",
            killed.done,
            len(everyone),
            time.monotonic() - killed_at,
        )
    finally:
        doomed.stop()
        for process in (beat, second):
            if process is not None:
                process.stop()

    snapshots = list(ComplianceSnapshot.objects.filter(sweep_id=sweep.pk))
    per_customer = Counter(s.customer_id for s in snapshots)
    assert sorted(per_customer) == sorted(c.pk for c in everyone)
    assert set(per_customer.values()) == {1}
    assert (done.total, done.done) == (len(everyone), len(everyone))
    # The sweep's one chunk (18 customers) was taken over from the killed worker.
    assert [(c.status, c.attempts) for c in done.chunks.all()] == [("done", 2)]
    assert done.failed == sum(c.relationship_status != "active" for c in everyone)
    # What the killed worker stored stays; the second worker did not read those tenants again.
    assert {s.customer_id: s.pk for s in snapshots if s.customer_id in before} == before
    reads_after = _graph_reads(sim)
    for customer in everyone:
        if customer.pk in before:
            tenant = str(customer.tenant_id)
            assert reads_after[tenant] == reads_before[tenant], tenant
    assert ComplianceSweep.objects.count() == 1  # taken over, never a second sweep
    assert sweep_start(requested_by="after")[1] is True  # and the lock is released
