"""Issue 18 benchmark: compliance sweeps of 10,002 customers x 200 devices at 100 ms latency
with Intune's throttle, fanned out over real Celery worker processes (chunks of CHUNK
customers, COMPLIANCE_CONCURRENCY threads a worker). In one run:

- the first sweep ever (2 cold workers, nothing known: discovery, tokens, policy states);
- steady sweeps on 1, 2 and 4 fresh worker processes (no token of their own; discovery
  documents and app tokens shared in the cache by the sweep before, policy states known),
  and the same 2 workers again (warm: tokens held in the process);
- 2 fresh workers after every shared token is dropped (cold, no token anywhere);
- 2 workers, the one holding a chunk SIGKILLed at 30 %: the other takes that chunk over
  after its lease.

Reports wall time, speed-up over one worker, round trips per customer by kind, the CPU of
the workers and of the simulator (what binds on this machine), snapshots (exactly one per
customer). Writes bench/results/fan_out.json.

`python -m bench.bench_fan_out [--quick]`: --quick sweeps 202 customers, 1 and 2 workers.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    Simulator,
    customers_seed,
    machine,
    portal_env,
    portal_ready,
    results_save,
)
from tests.celeryproc import CeleryProcess

LATENCY_MS = 100
DEVICES = 200
THROTTLE = "2000/20"
CHUNK = 100
LEASE_SECONDS = 30
WATCH_SECONDS = 10
# A sweep still running after this reports what it waits for: a steady --quick sweep takes
# 2-4 s here, a steady sweep of 10,000 customers 150-250 s.
STALL_SECONDS = {True: 12, False: 600}
DB = "portal_bench_fan_out"
TICKS = os.sysconf("SC_CLK_TCK")
_RUN = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")


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


class _Workers:
    """`count` fresh worker processes (solo pool, COMPLIANCE_CONCURRENCY threads each) on the
    bench's queue, answering a ping before this returns."""

    def __init__(self, count: int, env: dict[str, str], queue: str, tag: str) -> None:
        from portal.celery import app

        self.count = count
        self.procs = [
            CeleryProcess(
                [
                    "worker",
                    "--pool",
                    "solo",
                    "-Q",
                    queue,
                    "-n",
                    f"fan-{tag}-{n}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel",
                    "WARNING",
                ],
                {**env, "CELERY_QUEUE": queue, "COMPLIANCE_SWEEP_CHUNK": str(CHUNK)},
                # One log per process and run: a stalled run's logs are not overwritten.
                f"bench-fan-out-{_RUN}-{tag}-{n}.log",
            )
            for n in range(count)
        ]
        names = [f"fan-{tag}-{n}@{os.uname().nodename}" for n in range(count)]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if len(app.control.ping(destination=names, timeout=1)) == count:
                return
        raise RuntimeError(f"{count} workers did not answer")

    def cpu(self) -> float:
        return sum(_group_cpu(p.process.pid) for p in self.procs)

    def stop(self) -> None:
        for p in self.procs:
            p.stop()


def _holding_a_chunk(workers: _Workers, sweep) -> CeleryProcess | None:
    """The worker process of a chunk of `sweep` still running, if any."""
    from compliance.models import SweepChunk

    running = SweepChunk.objects.filter(sweep=sweep, status=SweepChunk.Status.RUNNING)
    pids = {str(w).rpartition("/")[2] for w in running.values_list("worker", flat=True)}
    return next((p for p in workers.procs if str(p.process.pid) in pids), None)


def _tokens_forget() -> int:
    """Drop every app token shared in the cache (what a worker finds when they all expired)."""
    from django.core.cache import cache

    from regions.token_caches import _SHARED_PREFIX

    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"*{_SHARED_PREFIX}*", count=1000))
    if keys:
        client.delete(*keys)
    return len(keys)


def _stall_report(sweep, label: str) -> None:
    """What a sweep that is slower than it should be is waiting for: its chunks, and the
    broker's queue and unacknowledged messages (on stderr, beside the figures)."""
    import json

    import redis
    from django.conf import settings

    from compliance.models import SweepChunk

    sweep.refresh_from_db()
    out = [
        f"STALL {label}: sweep {sweep.pk} {sweep.status}, {sweep.attempts} attempts, "
        f"{sweep.done}/{sweep.total} done"
    ]
    for c in SweepChunk.objects.filter(sweep=sweep).order_by("number"):
        out.append(f"  chunk {c.pk} {c.status}, {c.attempts} attempts, worker {c.worker!r}")
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    for raw in broker.lrange(queue, 0, -1):
        headers = json.loads(raw)["headers"]
        out.append(f"  queued {headers['task']}{headers['argsrepr']}")
    bindings = sorted(m.decode() for m in broker.smembers(f"_kombu.binding.{queue}"))
    out.append(f"  bindings of {queue}: {bindings}")
    for raw in broker.hvals("unacked"):
        headers = json.loads(raw)[0]["headers"]
        out.append(f"  unacked {headers['task']}{headers['argsrepr']}")
    out.append(f"  worker logs: artifacts/bench-fan-out-{_RUN}-*.log")
    print("\n".join(out), file=sys.stderr, flush=True)


def _sweep(
    workers: _Workers,
    sim: Simulator,
    label: str,
    *,
    stall_after: float,
    kill_at: float | None = None,
) -> dict:
    """One sweep of every customer on `workers`; with `kill_at`, the first worker is SIGKILLed
    once that share of the customers is done (the others finish its chunk after its lease)."""
    from django.db.models import Count

    from compliance.models import ComplianceSnapshot, ComplianceSweep, SweepChunk
    from compliance.tasks import compliance_sweep_watch, sweep_request

    before = sim.requests()
    cpu_before = workers.cpu()
    sim_before = _cpu_seconds(sim.process.pid)
    started = time.perf_counter()
    sweep, _ = sweep_request(region=None, requested_by=f"bench {label}")
    killed_after = None
    next_watch = 0.0
    stalled = False
    while True:
        sweep.refresh_from_db()
        if sweep.finished:
            break
        total = sweep.total
        if kill_at is not None and killed_after is None and total and sweep.done >= kill_at * total:
            victim = _holding_a_chunk(workers, sweep)
            if victim is not None:  # SIGKILL a worker in the middle of a chunk
                victim.kill()
                killed_after = sweep.done
        if time.monotonic() >= next_watch and time.perf_counter() - started > WATCH_SECONDS:
            # What beat runs every WATCH_SECONDS in production: a chunk whose worker died, or
            # whose message was lost, is sent again once its lease is over.
            compliance_sweep_watch()
            next_watch = time.monotonic() + WATCH_SECONDS
        if not stalled and kill_at is None and time.perf_counter() - started > stall_after:
            stalled = True
            _stall_report(sweep, label)
        if time.perf_counter() - started > 1800:
            raise RuntimeError("sweep still running after 30 minutes")
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    worker_cpu = max(0.0, workers.cpu() - cpu_before)  # a killed worker's CPU is gone
    sim_cpu = _cpu_seconds(sim.process.pid) - sim_before
    after = sim.requests()
    chunks = list(SweepChunk.objects.filter(sweep=sweep).values_list("worker", "attempts"))
    kinds = ("discovery", "token", "graph")
    rounds = {k: after["counters"].get(k, 0) - before["counters"].get(k, 0) for k in kinds}
    assert sweep.status == ComplianceSweep.Status.DONE, sweep.error
    snapshots = ComplianceSnapshot.objects.filter(sweep=sweep)
    run = {
        "run": label,
        "workers": workers.count,
        "seconds": round(elapsed, 2),
        "customers": sweep.total,
        "failed": sweep.failed,
        "snapshots": snapshots.count(),
        "customers_with_two_snapshots": snapshots.values("customer_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count(),
        "chunks": len(chunks),
        "chunks_per_worker": sorted(Counter(w for w, _ in chunks).values(), reverse=True),
        "chunks_taken_over": sum(1 for _, attempts in chunks if attempts > 1),
        "round_trips": rounds,
        "round_trips_per_customer": round(sum(rounds.values()) / max(1, sweep.total), 2),
        "worker_cpu_s": round(worker_cpu, 1),
        "simulator_cpu_s": round(sim_cpu, 1),
        "simulator_share_of_cpu": round(sim_cpu / max(0.1, sim_cpu + worker_cpu), 2),
        "cpu_share_of_machine": round((worker_cpu + sim_cpu) / (elapsed * os.cpu_count()), 2),
        "simulator_page_cache_hits": after["page_cache"]["hits"] - before["page_cache"]["hits"],
    }
    if kill_at is not None:
        run["killed_after_customers"] = killed_after
    return run


def main(quick: bool = False) -> dict:
    results: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), **machine()}
    per_region = 100 if quick else 5000
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
        env = {
            **portal_env(DB),
            "LOG_LEVEL": "WARNING",
            # A killed worker's chunk is taken over after its lease: a short one for the bench.
            "COMPLIANCE_SWEEP_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        queue = f"bench-fan-out-{os.getpid()}"
        portal_ready(env, DB, sim, queue=queue)
        from django.conf import settings
        from django.core.cache import cache

        results["setup"]["customers"] = customers_seed(sim.info())
        results["setup"]["threads_per_worker"] = settings.COMPLIANCE_CONCURRENCY
        results["runs"] = []

        stall_after = STALL_SECONDS[quick]

        def record(run: dict) -> None:
            results["runs"].append(run)
            results_save("fan_out", results)
            print(f"  {run['run']}: {run['seconds']} s", flush=True)

        # The first sweep ever: nothing known (discovery documents, tokens, policy states);
        # it also lets the simulator keep its generated pages, so the runs after it compare
        # the portal, not the simulator's first generation of 2 million devices.
        cache.clear()
        first = _Workers(2, env, queue, "first")
        record(_sweep(first, sim, "first sweep, 2 cold workers", stall_after=3 * stall_after))
        first.stop()
        # Steady sweeps on fresh processes (no tokens); the discovery documents stay shared
        # in the cache, as a worker started beside running ones finds them.
        for n in counts:
            workers = _Workers(n, env, queue, f"cold{n}")
            record(
                _sweep(
                    workers, sim, f"steady, {n} cold worker{'s' * (n > 1)}", stall_after=stall_after
                )
            )
            if n == 2:  # the same processes again: tokens held
                record(_sweep(workers, sim, "steady, 2 warm workers", stall_after=stall_after))
            workers.stop()
        # Cold workers that find no token anywhere (every shared token expired): a token and
        # the devices page per customer.
        _tokens_forget()
        workers = _Workers(2, env, queue, "notokens")
        record(
            _sweep(
                workers, sim, "steady, 2 cold workers, no token anywhere", stall_after=stall_after
            )
        )
        workers.stop()
        workers = _Workers(2, env, queue, "kill")
        record(
            _sweep(
                workers,
                sim,
                "2 workers, one SIGKILLed at 30 %",
                kill_at=0.3,
                stall_after=stall_after,
            )
        )
        workers.stop()
    one = next(r for r in results["runs"] if r["run"].startswith("steady, 1 "))["seconds"]
    for run in results["runs"]:
        run["speedup_vs_1"] = round(one / run["seconds"], 2)
    results_save("fan_out", results)
    _report(results)
    return results


def _report(r: dict) -> None:
    s = r["setup"]
    print(
        f"\n== Sweep fan-out ({s['customers']} customers x {s['devices_per_customer']} devices, "
        f"{s['latency_ms']} ms latency, chunks of {s['chunk']}, {s['threads_per_worker']} "
        f"threads a worker; {r['cores']} cores, {r['cpu']})"
    )
    print(
        "| run | sweep | vs 1 worker | round trips / customer (discovery, token, graph) "
        "| worker CPU | simulator CPU (share) | machine busy | snapshots |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for run in r["runs"]:
        t = run["round_trips"]
        print(
            f"| {run['run']} | {run['seconds']} s | {run['speedup_vs_1']}x | "
            f"{run['round_trips_per_customer']} ({t['discovery']}, {t['token']}, {t['graph']}) "
            f"| {run['worker_cpu_s']} s | {run['simulator_cpu_s']} s "
            f"({int(100 * run['simulator_share_of_cpu'])} %) "
            f"| {int(100 * run['cpu_share_of_machine'])} % | {run['snapshots']} "
            f"(taken over: {run['chunks_taken_over']} chunks) |"
        )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
