"""Issue 18 benchmark: one compliance sweep fanned out over 1, 2 and 4 real Celery worker
processes (chunks of COMPLIANCE_SWEEP_CHUNK customers), cold each time (fresh processes: no
tokens, no discovery documents), against the simulator at 100 ms latency with Intune's
throttle. Reports wall time, the speed-up over one worker, round trips per customer, and the
CPU seconds of the workers and of the simulator (what binds on this machine). Writes
bench/results/fan_out.json.

`python -m bench.bench_fan_out [--quick]`: --quick sweeps 200 customers, 1 and 2 workers.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    ROOT,
    Simulator,
    customers_seed,
    fresh_database,
    machine,
    manage,
    portal_env,
)
from tests.celeryproc import CeleryProcess

LATENCY_MS = 100
DEVICES = 200
THROTTLE = "2000/20"
CHUNK = 50
DB = "portal_bench_fan_out"
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / TICKS


def _group_cpu(pid: int) -> float:
    """CPU of every process in `pid`'s process group (a worker and its pool children)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) == pid:
                total += _cpu_seconds(int(entry.name))
        except OSError:
            continue
    return total


def _sweep_with(workers: int, env: dict[str, str], sim: Simulator, queue: str) -> dict:
    from compliance.models import ComplianceSweep, SweepChunk
    from compliance.tasks import sweep_request

    procs = [
        CeleryProcess(
            [
                "worker",
                "--pool",
                "solo",
                "-Q",
                queue,
                "-n",
                f"fan-{workers}-{n}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "WARNING",
            ],
            {**env, "CELERY_QUEUE": queue, "COMPLIANCE_SWEEP_CHUNK": str(CHUNK)},
            f"bench-fan-out-{workers}-{n}.log",
        )
        for n in range(workers)
    ]
    from portal.celery import app

    names = {f"fan-{workers}-{n}@{os.uname().nodename}" for n in range(workers)}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        replies = app.control.ping(destination=list(names), timeout=1)
        if len(replies) == workers:
            break
    else:
        raise RuntimeError(f"{workers} workers did not answer")
    before = dict(sim.requests()["counters"])
    cpu_before = [_group_cpu(p.process.pid) for p in procs]
    sim_before = _cpu_seconds(sim.process.pid)
    started = time.perf_counter()
    sweep, _ = sweep_request(region=None, requested_by=f"bench {workers} workers")
    while True:
        sweep.refresh_from_db()
        if sweep.finished:
            break
        if time.perf_counter() - started > 900:
            raise RuntimeError("sweep still running after 15 minutes")
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    worker_cpu = sum(_group_cpu(p.process.pid) - b for p, b in zip(procs, cpu_before, strict=True))
    sim_cpu = _cpu_seconds(sim.process.pid) - sim_before
    after = dict(sim.requests()["counters"])
    for p in procs:
        p.stop()
    chunks = list(SweepChunk.objects.filter(sweep=sweep).values_list("worker", flat=True))
    rounds = {k: after.get(k, 0) - before.get(k, 0) for k in ("discovery", "token", "graph")}
    assert sweep.status == ComplianceSweep.Status.DONE, sweep.error
    return {
        "workers": workers,
        "seconds": round(elapsed, 2),
        "customers": sweep.total,
        "failed": sweep.failed,
        "chunks": len(chunks),
        "chunks_per_worker": sorted((chunks.count(w) for w in set(chunks)), reverse=True),
        "round_trips": rounds,
        "round_trips_per_customer": round(sum(rounds.values()) / max(1, sweep.total), 2),
        "worker_cpu_s": round(worker_cpu, 1),
        "simulator_cpu_s": round(sim_cpu, 1),
        "cpu_share_of_machine": round((worker_cpu + sim_cpu) / (elapsed * os.cpu_count()), 2),
    }


def main(quick: bool = False) -> dict:
    results: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), **machine()}
    per_region = 100 if quick else 500
    counts = (1, 2) if quick else (1, 2, 4)
    results["setup"] = {
        "customers_per_region": per_region,
        "devices_per_customer": DEVICES,
        "latency_ms": LATENCY_MS,
        "sim_throttle": THROTTLE,
        "chunk": CHUNK,
    }
    with Simulator(
        "--customers",
        str(per_region),
        "--devices",
        str(DEVICES),
        "--latency-ms",
        str(LATENCY_MS),
        "--throttle",
        THROTTLE,
    ) as sim:
        env = {**portal_env(DB), "LOG_LEVEL": "WARNING"}
        queue = f"bench-fan-out-{os.getpid()}"
        fresh_database(DB)
        manage(env, "migrate", "--noinput")
        manage(env, "configure_demo_regions", "--sim", sim.base_url, "--ca", sim.ca)
        os.environ.update({**env, "CELERY_QUEUE": queue})
        import django

        django.setup()
        from django.conf import settings

        results["setup"]["customers"] = customers_seed(sim.info())
        results["setup"]["threads_per_worker"] = settings.COMPLIANCE_CONCURRENCY
        from django.core.cache import cache

        results["runs"] = []
        # Each run cold: new worker processes and no discovery document shared yet; then the
        # same with the documents the earlier run left in the cache (what a worker started
        # next to others finds).
        plan = [(n, True) for n in counts] + [(2, False)]
        for workers, clear in plan:
            if clear:
                cache.clear()
            run = _sweep_with(workers, env, sim, queue)
            run["discovery_shared_beforehand"] = not clear
            results["runs"].append(run)
            _save(results)
    one = results["runs"][0]["seconds"]
    for run in results["runs"]:
        run["speedup_vs_1"] = round(one / run["seconds"], 2)
    _save(results)
    _report(results)
    return results


def _save(results: dict) -> None:
    out = ROOT / "bench" / "results" / "fan_out.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))


def _report(r: dict) -> None:
    s = r["setup"]
    print(
        f"\n== Sweep fan-out ({s['customers']} customers x {s['devices_per_customer']} devices, "
        f"{s['latency_ms']} ms latency, chunks of {s['chunk']}, {s['threads_per_worker']} "
        f"threads a worker; {r['cores']} cores, {r['cpu']})"
    )
    print(
        "| workers | discovery shared | sweep | vs 1 worker | round trips / customer "
        "| worker CPU | simulator CPU | machine busy |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for run in r["runs"]:
        shared = "yes" if run["discovery_shared_beforehand"] else "no"
        print(
            f"| {run['workers']} | {shared} | {run['seconds']} s | {run['speedup_vs_1']}x | "
            f"{run['round_trips_per_customer']} ({run['round_trips']}) | {run['worker_cpu_s']} s "
            f"| {run['simulator_cpu_s']} s | {int(100 * run['cpu_share_of_machine'])} % |"
        )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
