"""A sweep fans out over workers: its customers are split into chunks, each a task and a lease
of its own, so two real worker processes share one sweep, and a SIGKILLed worker's chunk is
finished by the other, one snapshot per customer."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest

from compliance.models import ComplianceSnapshot, ComplianceSweep, SweepChunk
from compliance.services import sweep_start
from compliance.tasks import compliance_sweep_run
from tests.celeryproc import start_worker
from tests.compliance.test_worker_kill import LEASE, _beat, _wait

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

CHUNK = "3"  # 18 customers: 6 chunks


def _workers(queue: str, **env: str) -> list[Any]:
    settings = {
        "COMPLIANCE_SWEEP_CHUNK": CHUNK,
        "COMPLIANCE_CONCURRENCY": "1",
        "COMPLIANCE_SWEEP_LEASE_SECONDS": LEASE,
        **env,
    }
    return [start_worker(queue, f"fan-out-{n}", **settings) for n in (1, 2)]


def _one_snapshot_each(sweep: ComplianceSweep, everyone: list[Any]) -> None:
    per_customer = Counter(
        ComplianceSnapshot.objects.filter(sweep=sweep).values_list("customer_id", flat=True)
    )
    assert sorted(per_customer) == sorted(c.pk for c in everyone)
    assert set(per_customer.values()) == {1}


def test_two_workers_share_the_chunks_of_one_sweep(
    sim: Any, customers: dict[str, list[Any]]
) -> None:
    everyone = [c for region in customers.values() for c in region]
    queue = f"fan-out-{os.getpid()}"
    sim.faults(latency_ms=150)
    workers = _workers(queue)
    try:
        sweep, _ = sweep_start(requested_by="test")
        compliance_sweep_run.apply_async((sweep.pk,), queue=queue)
        done = _wait(
            lambda: ComplianceSweep.objects.filter(pk=sweep.pk, status="done").first(),
            "the sweep finished",
            timeout=120,
        )
    finally:
        sim.faults(latency_ms=0)
        for worker in workers:
            worker.stop()
    chunks = list(SweepChunk.objects.filter(sweep=done))
    assert len(chunks) == 6 and {c.status for c in chunks} == {"done"}
    assert sorted(len(c.customer_ids) for c in chunks) == [3] * 6
    pids = {w.process.pid for w in workers}
    took = Counter(int(c.worker.rsplit("/", 1)[1]) for c in chunks)
    assert set(took) == pids, f"both workers took chunks: {took}"
    assert (done.total, done.done) == (len(everyone), len(everyone))
    _one_snapshot_each(done, everyone)


def test_a_killed_workers_chunk_is_finished_by_the_other_worker(
    sim: Any, customers: dict[str, list[Any]], tmp_path: Any
) -> None:
    everyone = [c for region in customers.values() for c in region]
    queue = f"fan-out-kill-{os.getpid()}"
    sim.faults(latency_ms=300)
    doomed, survivor = _workers(queue)
    beat = _beat(queue, tmp_path)
    try:
        sweep, _ = sweep_start(requested_by="test")
        compliance_sweep_run.apply_async((sweep.pk,), queue=queue)
        doomed_pid = doomed.process.pid

        def doomed_mid_chunk() -> bool:
            return SweepChunk.objects.filter(
                sweep=sweep, status="running", worker__endswith=f"/{doomed_pid}", done__gte=1
            ).exists()

        _wait(doomed_mid_chunk, "the doomed worker inside a chunk", timeout=60)
        doomed.kill()
        done = _wait(
            lambda: ComplianceSweep.objects.filter(pk=sweep.pk, status="done").first(),
            "the sweep finished by the survivor",
            timeout=120,
        )
    finally:
        sim.faults(latency_ms=0)
        doomed.stop()
        survivor.stop()
        beat.stop()
    chunks = list(SweepChunk.objects.filter(sweep=done))
    assert {c.status for c in chunks} == {"done"}
    taken_over = [c for c in chunks if c.attempts == 2]
    assert taken_over, [(c.number, c.attempts, c.worker) for c in chunks]
    assert all(c.worker.endswith(f"/{survivor.process.pid}") for c in taken_over)
    assert (done.total, done.done) == (len(everyone), len(everyone))
    _one_snapshot_each(done, everyone)
