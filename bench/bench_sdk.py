"""Issue 18 benchmark: our compliance sweep beside the same sweep written with Microsoft's SDK
(msgraph-sdk + azure-identity, async), in one run, against one simulator world: customers x
200 devices at 100 ms latency with Intune's throttle (bench_fan_out's world).

What each side does per customer, the same reads:
- the SDK (bench/sdk_sweep.py): an azure.identity.aio ClientSecretCredential for the customer
  tenant (the partner's multi-tenant app, app-only), a GraphServiceClient on one shared httpx
  client with the SDK's default middleware, managedDevices with the same $select and $top
  following @odata.nextLink with PageIterator, then each noncompliant device's policy states;
  asyncio with a Semaphore of 2 x COMPLIANCE_CONCURRENCY customers in flight. It keeps the
  counts in memory and writes nothing.
- ours: the product's sweep on real Celery workers (bench_fan_out's machinery), chunks of
  COMPLIANCE_CONCURRENCY customers, COMPLIANCE_CONCURRENCY threads a worker: 2 workers are the
  same total concurrency as the SDK's Semaphore (1 worker is shown too). Each of our runs
  starts cold: fresh worker processes, the cache cleared (no token, no discovery document) and
  COMPLIANCE_POLICY_REFRESH_HOURS=0 (every noncompliant device's policy states read again, as
  the SDK does). Its wall time includes writing one snapshot per customer into PostgreSQL,
  which the SDK side does not do: the comparison leans towards the SDK.

Why it is fair: same world, latency, throttle and customers; same fields read; same
concurrency; the SDK with its documented defaults (retry handler, one credential per tenant
reused for the tenant's pages, clients closed). The simulator is warmed by a first sweep of
ours (it generates each tenant's devices once), so neither measured side pays for that.
Both sides must read the same device counts per customer (asserted).

The SDK spends ~2.5 CPU seconds per 200-device customer deserialising models (msgraph-sdk's
generated models import ~1,200 classes per object: msgraph-sdk-python#584), so the default
size is 62 customers (the SDK part about 3 minutes on this machine), --quick 18.

`python -m bench.bench_sdk [--quick]` writes bench/results/sdk.json and prints a table.
# Reference: https://github.com/microsoftgraph/msgraph-sdk-python/issues/584
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from datetime import UTC, datetime

from bench import bench_fan_out
from bench.bench_fan_out import DEVICES, LATENCY_MS, THROTTLE, _cpu_seconds, _sweep, _Workers
from bench.common import (
    ROOT,
    Simulator,
    customers_seed,
    machine,
    portal_env,
    portal_ready,
)

DB = os.environ.get("BENCH_SDK_DB", "bench_sdk")
KINDS = ("discovery", "token", "graph")


def main(quick: bool = False) -> dict:
    from bench.sdk_sweep import App, sdk_sweep

    results: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), **machine()}
    per_region = 8 if quick else 30
    with Simulator(
        "--customers", str(per_region), "--devices", str(DEVICES),
        "--latency-ms", str(LATENCY_MS), "--throttle", THROTTLE,
    ) as sim:  # fmt: skip
        env = {
            **portal_env(DB),
            "LOG_LEVEL": "WARNING",
            # Every run reads every noncompliant device's policy states again, as the SDK does.
            "COMPLIANCE_POLICY_REFRESH_HOURS": "0",
        }
        queue = f"bench-sdk-{os.getpid()}"
        portal_ready(env, DB, sim, queue=queue)
        # azure-identity logs each refused token (the expired relationships) as a warning.
        logging.getLogger("azure.identity").setLevel(logging.ERROR)
        from django.conf import settings
        from django.core.cache import cache

        info = sim.info()
        threads = settings.COMPLIANCE_CONCURRENCY
        # Chunks as large as a worker's threads: 2 workers keep 2 x threads customers in flight.
        bench_fan_out.CHUNK = threads
        results["setup"] = {
            "customers": customers_seed(info),
            "devices_per_customer": DEVICES,
            "latency_ms": LATENCY_MS,
            "sim_throttle": THROTTLE,
            "threads_per_worker": threads,
            "chunk": threads,
            "sdk_concurrency": 2 * threads,
            "versions": _versions(),
        }
        results["runs"] = []

        def ours(workers: int, label: str) -> dict:
            cache.clear()  # no token, no discovery document: as cold as the SDK's credentials
            pool = _Workers(workers, env, queue, f"sdk{len(results['runs'])}")
            try:
                # A sweep of these few customers takes seconds: report one stuck past 5 minutes.
                run = _sweep(pool, sim, label, stall_after=300)
            finally:
                pool.stop()
            run["side"] = "ours"
            run["_counts"] = _our_counts()
            return run

        def record(run: dict) -> None:
            results["runs"].append(run)
            _save(results)
            print(f"  {run['run']}: {run['seconds']} s", flush=True)

        record(ours(2, "ours, 2 workers, simulator cold (warm-up)"))
        targets = [
            (c["tenant_id"], App(r["app"]["client_id"], r["app"]["client_secret"]))
            for r in info["regions"]
            for c in r["customers"]
        ]
        record(_sdk(sim, info, targets, 2 * threads, sdk_sweep))
        record(ours(1, "ours, 1 worker"))
        record(ours(2, "ours, 2 workers"))
    sdk = next(r for r in results["runs"] if r["side"] == "sdk")
    sdk_counts = sdk.pop("_counts")
    for run in results["runs"]:
        if run is not sdk:
            run["same_counts_as_sdk"] = _compare(run.pop("_counts"), sdk_counts)
        run["sdk_seconds_over_this"] = round(sdk["seconds"] / run["seconds"], 2)
    results["ratio_sdk_over_ours_same_concurrency"] = results["runs"][-1]["sdk_seconds_over_this"]
    _save(results)
    _report(results)
    return results


def _sdk(sim: Simulator, info: dict, targets: list, concurrency: int, sweep) -> dict:
    before = sim.requests()["counters"]
    sim_before = _cpu_seconds(sim.process.pid)
    cpu_before = time.process_time()
    started = time.perf_counter()
    outcomes = sweep(
        targets=targets,
        authority=sim.base_url,
        graph_base=info["endpoints"]["graph"],
        ca=sim.ca,
        concurrency=concurrency,
    )
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    sim_cpu = _cpu_seconds(sim.process.pid) - sim_before
    after = sim.requests()["counters"]
    rounds = {k: after.get(k, 0) - before.get(k, 0) for k in KINDS}
    failed = [o for o in outcomes if not o.ok]
    return {
        "run": f"SDK, asyncio Semaphore({concurrency})",
        "side": "sdk",
        "workers": 0,
        "seconds": round(elapsed, 2),
        "customers": len(outcomes),
        "failed": len(failed),
        "failures": sorted({o.error.split(":", 1)[0] for o in failed}),
        "round_trips": rounds,
        "round_trips_per_customer": round(sum(rounds.values()) / max(1, len(outcomes)), 2),
        "worker_cpu_s": round(cpu, 1),
        "simulator_cpu_s": round(sim_cpu, 1),
        "simulator_share_of_cpu": round(sim_cpu / max(0.1, sim_cpu + cpu), 2),
        "cpu_share_of_machine": round((cpu + sim_cpu) / (elapsed * os.cpu_count()), 2),
        "policy_states_read": sum(len(o.policies) for o in outcomes),
        # Customers read again after a failed connection (as our sweep retries a network error).
        "customers_retried": sum(o.attempts > 1 for o in outcomes),
        "_counts": {o.tenant_id: (o.total, dict(o.states)) if o.ok else None for o in outcomes},
    }


def _our_counts() -> dict[str, tuple[int, dict[str, int]] | None]:
    """The latest sweep's counts per tenant, in the SDK's shape (None: not read)."""
    from compliance.models import STATE_FIELDS, ComplianceSnapshot, ComplianceSweep

    sweep = ComplianceSweep.objects.order_by("-pk").first()
    counts = {}
    for snap in ComplianceSnapshot.objects.filter(sweep=sweep).select_related("customer"):
        states = {s: getattr(snap, column) for s, column in STATE_FIELDS.items()}
        counts[str(snap.customer.tenant_id)] = (
            (snap.device_total, {s: n for s, n in states.items() if n}) if snap.ok else None
        )
    return counts


def _compare(ours: dict, sdk: dict) -> bool:
    """Every customer read by both sides with the same total and the same count per state;
    the same customers failed on both sides."""
    assert set(ours) == set(sdk), f"customers differ: {set(ours) ^ set(sdk)}"
    differ = {t: (ours[t], sdk[t]) for t in ours if ours[t] != sdk[t]}
    assert not differ, (
        f"device counts differ for {len(differ)} customers: {list(differ.items())[:3]}"
    )
    return True


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("msgraph-sdk", "msgraph-core", "azure-identity", "azure-core", "httpx", "aiohttp")
    return {n: version(n) for n in names}


def _save(results: dict) -> None:
    out = ROOT / "bench" / "results" / "sdk.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    clean = {
        **results,
        "runs": [{k: v for k, v in r.items() if k != "_counts"} for r in results["runs"]],
    }
    out.write_text(json.dumps(clean, indent=2, default=str))


def _report(r: dict) -> None:
    s = r["setup"]
    print(
        f"\n== Compliance sweep, ours vs msgraph-sdk ({s['customers']} customers x "
        f"{s['devices_per_customer']} devices, {s['latency_ms']} ms latency, "
        f"{s['threads_per_worker']} threads a worker, SDK Semaphore({s['sdk_concurrency']}); "
        f"{r['cores']} cores, {r['cpu']})"
    )
    print(
        "| run | sweep | SDK time / this | round trips / customer (discovery, token, graph) "
        "| client CPU | simulator CPU | failed |"
    )
    print("|---|---|---|---|---|---|---|")
    for run in r["runs"]:
        t = run["round_trips"]
        print(
            f"| {run['run']} | {run['seconds']} s | {run['sdk_seconds_over_this']}x "
            f"| {run['round_trips_per_customer']} ({t['discovery']}, {t['token']}, {t['graph']}) "
            f"| {run['worker_cpu_s']} s | {run['simulator_cpu_s']} s | {run['failed']} |"
        )
    print(f"SDK / ours at the same concurrency: {r['ratio_sdk_over_ours_same_concurrency']}x")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
