"""Issue 18 benchmark: the customer sync of a partner with ~10,000 GDAP relationships at the
simulator's 100 ms latency (target: <= 60 s, requests counted).

One region of the simulator holds CUSTOMERS customers (each one active GDAP relationship, plus
the seeded expired and DAP-only ones). The bench runs the real sync task in-process
(`customers.tasks.customers_sync_run`, the function a Celery worker calls, on PostgreSQL and
Redis with production settings), three times: the first sync (nothing stored, no token cached),
a second one right after (every row updated; every consent was checked within
CONSENT_RECHECK_SECONDS, so none is checked again) and one with every consent check due (as an
hour later). It reports, per run:

- wall seconds and the time the sync's own thread spent in PostgreSQL;
- requests by kind, counted at the HTTP boundary of this process (every request the portal
  sends, `$batch` items named by what they ask for) and checked against the simulator's own
  counters: relationship pages, access assignments, delegatedAdminCustomers pages, contracts,
  consent checks, Partner Center customers, tokens, discovery;
- the CPU of the portal process and of the simulator (what binds on a 2-core machine).

Writes bench/results/sync.json. `python -m bench.bench_sync [--quick]`: --quick syncs ~500.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import Simulator, fresh_database, machine, manage, portal_env, results_save

LATENCY_MS = 100
DB = os.environ.get("BENCH_SYNC_DB", "portal_bench_sync")
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:13]) / TICKS


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _kind(method: str, path: str) -> str:
    """What a request (or a $batch item) asks for, by its path."""
    if path.endswith("/token"):
        return "token"
    if path.endswith("/openid-configuration") or path.endswith("/keys") or "discovery" in path:
        return "discovery"
    if "/partnercenter/" in path or path.startswith("/v1/customers"):
        return "partner center customers"
    if path.endswith("/accessAssignments"):
        return "access assignments"
    if "delegatedAdminRelationships" in path:
        return "relationship pages"
    if "delegatedAdminCustomers" in path:
        return "gdap customer pages"
    if path.endswith("/contracts"):
        return "contracts"
    if "servicePrincipals" in path:
        return "consent checks"
    return f"other {method} {path}"


class _Counting:
    """Counts every request this process sends, at the HTTP adapter (it still goes out)."""

    def __init__(self) -> None:
        import requests.adapters

        self.kinds: Counter[str] = Counter()
        self.batch_items: Counter[str] = Counter()
        self._lock = threading.Lock()
        adapter = requests.adapters.HTTPAdapter
        original = adapter.send
        counting = self

        def send(self_: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            path = urlsplit(request.url).path
            if path.endswith("/$batch"):
                body = json.loads(request.body or b"{}")
                items = [_kind(r["method"], urlsplit(r["url"]).path) for r in body["requests"]]
                with counting._lock:
                    counting.kinds[f"$batch of {items[0]}" if items else "$batch"] += 1
                    counting.batch_items.update(items)
            else:
                with counting._lock:
                    counting.kinds[_kind(request.method, path)] += 1
            return original(self_, request, *args, **kwargs)

        adapter.send = send  # type: ignore[method-assign]

    def snapshot(self) -> tuple[Counter[str], Counter[str]]:
        with self._lock:
            return Counter(self.kinds), Counter(self.batch_items)


class _DbTime:
    """Seconds the calling thread's connection spends executing SQL."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.queries = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


def _sync(sim: Simulator, counting: _Counting, region: Any, label: str) -> dict:
    from django.db import connection

    from customers.models import Customer, GdapRelationship, SyncRun
    from customers.services import sync_run_start
    from customers.tasks import customers_sync_run

    sim_before = sim.requests()["counters"]
    kinds_before, items_before = counting.snapshot()
    cpu_before, sim_cpu_before = _own_cpu(), _cpu_seconds(sim.process.pid)
    db = _DbTime()
    run, _ = sync_run_start(region=region, requested_by=f"bench {label}")
    started = time.perf_counter()
    with connection.execute_wrapper(db):
        customers_sync_run.run(run.pk)  # the task's body, as a worker runs it
    elapsed = time.perf_counter() - started
    cpu, sim_cpu = _own_cpu() - cpu_before, _cpu_seconds(sim.process.pid) - sim_cpu_before
    run.refresh_from_db()
    assert run.status == SyncRun.Status.DONE, run.error
    kinds_after, items_after = counting.snapshot()
    sim_after = sim.requests()["counters"]
    kinds = {k: v for k, v in (kinds_after - kinds_before).items()}
    items = {k: v for k, v in (items_after - items_before).items()}
    sim_counts = {k: sim_after.get(k, 0) - sim_before.get(k, 0) for k in sim_after}
    return {
        "run": label,
        "seconds": round(elapsed, 2),
        "customers": run.total,
        "created": run.created,
        "updated": run.updated,
        "stored_customers": Customer.objects.filter(region=region).count(),
        "stored_relationships": GdapRelationship.objects.filter(customer__region=region).count(),
        "requests": dict(sorted(kinds.items())),
        "batch_items": dict(sorted(items.items())),
        "requests_total": sum(kinds.values()),
        "simulator_counters": {k: v for k, v in sim_counts.items() if v},
        "db_seconds_sync_thread": round(db.seconds, 2),
        "db_queries_sync_thread": db.queries,
        "portal_cpu_s": round(cpu, 1),
        "simulator_cpu_s": round(sim_cpu, 1),
        "simulator_share_of_cpu": round(sim_cpu / max(0.1, sim_cpu + cpu), 2),
        "cpu_share_of_machine": round((cpu + sim_cpu) / (elapsed * os.cpu_count()), 2),
    }


def main(quick: bool = False) -> dict:
    customers = 500 if quick else 10_000
    results: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), **machine()}
    results["setup"] = {"customers_per_region": customers, "latency_ms": LATENCY_MS}
    # One region with `customers` relationships is synced; the other region (same size, the
    # simulator seeds both) is not. No users or devices: the sync reads none.
    with Simulator(
        "--customers", str(customers), "--users", "1", "--devices", "0",
        "--latency-ms", str(LATENCY_MS),
    ) as sim:  # fmt: skip
        env = {**portal_env(DB), "LOG_LEVEL": "WARNING"}
        fresh_database(DB)
        manage(env, "migrate", "--noinput")
        manage(env, "configure_demo_regions", "--sim", sim.base_url, "--ca", sim.ca)
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings
        from django.core.cache import cache

        from regions.models import Region

        cache.clear()  # no token nor discovery document from an earlier bench
        region = Region.objects.get(slug="us")
        results["setup"]["sync_concurrency"] = settings.CUSTOMER_SYNC_CONCURRENCY
        counting = _Counting()
        results["runs"] = []
        from django.test import override_settings

        runs = (
            ("first sync (nothing stored, no tokens)", {}),
            # Right after: every consent was found working within CONSENT_RECHECK_SECONDS.
            ("second sync (all stored, consent checked recently)", {}),
            # As an hour on, when every customer's consent check is due again.
            ("sync with every consent check due", {"CONSENT_RECHECK_SECONDS": 0}),
        )
        for label, changed in runs:
            with override_settings(**changed):
                run = _sync(sim, counting, region, label)
            results["runs"].append(run)
            results_save("sync", results)
            print(f"  {label}: {run['seconds']} s", flush=True)
    results_save("sync", results)
    _report(results)
    return results


def _report(r: dict) -> None:
    s = r["setup"]
    print(
        f"\n== Customer sync ({s['customers_per_region']} customers in the region, "
        f"{s['latency_ms']} ms latency; {r['cores']} cores, {r['cpu']})"
    )
    print("| run | wall | requests (by kind) | DB (sync thread) | portal CPU | simulator CPU |")
    print("|---|---|---|---|---|---|")
    for run in r["runs"]:
        kinds = ", ".join(f"{k} {v}" for k, v in run["requests"].items())
        print(
            f"| {run['run']} | {run['seconds']} s | {run['requests_total']}: {kinds} "
            f"| {run['db_seconds_sync_thread']} s | {run['portal_cpu_s']} s "
            f"| {run['simulator_cpu_s']} s ({int(100 * run['simulator_share_of_cpu'])} %) |"
        )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
