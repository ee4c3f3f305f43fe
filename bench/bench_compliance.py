"""Issue 4 benchmark: a compliance sweep of 1,000 customers x 200 devices at 100 ms simulated
latency (vs a sequential baseline), and /compliance/ over 1,000 customers x 90 days of
snapshots. Prints a table, writes bench/results/compliance.json.

The sweep runs in this process through the same service the Celery task calls
(compliance.services.compliance_sweep), against a throwaway PostgreSQL database. The
sequential baseline reads BASELINE_CUSTOMERS customers one at a time (cold tokens, like the
sweep) and is extrapolated to all customers. The dashboard is timed under gunicorn with
production settings, signed in as a manager, from the Server-Timing header.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timedelta

from bench.common import (
    Simulator,
    customers_seed,
    fresh_database,
    gunicorn,
    machine,
    manage,
    median,
    p95,
    portal_env,
    results_save,
    server_ms,
    sign_in,
)

LATENCY_MS = 100
CUSTOMERS_PER_REGION = 500
DEVICES = 200
THROTTLE = "2000/20"  # Intune's limit per app per tenant
BASELINE_CUSTOMERS = 40
HISTORY_DAYS = 90
RUNS = 15
DB = "portal_bench_compliance"
SWEEP_TARGET_S = 30.0
DASHBOARD_TARGET_MS = 150.0


def _django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["LOG_LEVEL"] = "ERROR"
    import django

    django.setup()


def _counters(sim: Simulator) -> dict[str, int]:
    return dict(sim.requests()["counters"])


def _requests_between(sim: Simulator, before: dict[str, int]) -> dict[str, int | bool]:
    """Round trips since `before`, and the 429s among them (from the bounded request log)."""
    snap = sim.requests()
    after = snap["counters"]
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in ("token", "graph", "discovery")}
    total = sum(after.get(k, 0) - before.get(k, 0) for k in after)
    recent = snap["requests"][-total:] if total else []
    delta["throttled_429"] = sum(1 for e in recent if e.get("status") == 429)
    delta["log_complete"] = total <= len(snap["requests"])
    return delta


def _sequential_baseline(n: int) -> dict[str, float]:
    from django.utils import timezone

    from compliance.collect import devices_read_many
    from compliance.services import sweep_targets

    targets = sweep_targets()
    subset = targets[-n:]
    started = time.perf_counter()
    outcomes = list(
        devices_read_many(
            targets=subset, stale_before=timezone.now() - timedelta(days=30), concurrency=1
        )
    )
    elapsed = time.perf_counter() - started
    return {
        "customers_measured": len(subset),
        "seconds_measured": round(elapsed, 2),
        "per_customer_ms": round(1000 * elapsed / len(subset), 1),
        "extrapolated_s": round(elapsed / len(subset) * len(targets), 1),
        "failed": sum(not o.ok for o in outcomes),
    }


def _sweep(sim: Simulator, label: str) -> dict:
    from django.db.models import Sum

    from compliance.models import ComplianceSnapshot
    from compliance.services import compliance_sweep, sweep_start

    before = _counters(sim)
    sweep, _ = sweep_start(requested_by=f"bench {label}")
    started = time.perf_counter()
    done = compliance_sweep(sweep_id=sweep.pk)
    elapsed = time.perf_counter() - started
    counted = ComplianceSnapshot.objects.filter(sweep=done, ok=True).aggregate(
        devices=Sum("device_total")
    )["devices"]
    errors = sorted(
        set(
            ComplianceSnapshot.objects.filter(sweep=done, ok=False).values_list(
                "error_kind", flat=True
            )
        )
    )
    return {
        "seconds": round(elapsed, 2),
        "customers": done.total,
        "failed": done.failed,
        "failure_kinds": errors,
        "devices_counted": counted or 0,
        "requests": _requests_between(sim, before),
    }


def _chunk_claimed(sweep):
    """A chunk of `sweep` held by this process, for the sweep's own writer."""
    from compliance.models import SweepChunk
    from portal.runs import run_claim

    chunk = SweepChunk.objects.create(sweep=sweep, number=0)
    return run_claim(SweepChunk, pk=chunk.pk)


def _history(days: int) -> dict[str, float]:
    """`days` of daily sweeps over every customer, bulk-created through the sweep's own writer."""
    from django.utils import timezone

    from compliance.collect import Outcome
    from compliance.models import ComplianceSweep
    from compliance.services import snapshots_record, trend_record
    from compliance.tally import Tally
    from customers.models import Customer

    rng = random.Random(4)
    customers = list(Customer.objects.values_list("pk", "region_id"))
    started = time.perf_counter()
    now = timezone.now()
    for day in range(days, 0, -1):
        at = now - timedelta(days=day)
        sweep = ComplianceSweep.objects.create(
            status=ComplianceSweep.Status.RUNNING, started_at=at, total=len(customers)
        )
        outcomes = []
        for pk, region_id in customers:
            if rng.random() < 0.02:
                outcomes.append(
                    Outcome(pk, region_id, at, error_kind="forbidden", error="Refused (403).")
                )
                continue
            tally = Tally()
            tally.total = DEVICES
            bad = rng.randint(0, 60)
            tally.states.update(
                compliant=DEVICES - bad, noncompliant=bad * 2 // 3, inGracePeriod=bad - bad * 2 // 3
            )
            tally.systems.update(Windows=110, iOS=36, Android=34, macOS=20)
            tally.stale = rng.randint(0, 15)
            outcomes.append(Outcome(pk, region_id, at, tally=tally, requests=1))
        snapshots_record(chunk=_chunk_claimed(sweep), outcomes=outcomes)
        trend_record(sweep=sweep)
        sweep.refresh_from_db()  # the counters the writer added
        sweep.status, sweep.finished_at = ComplianceSweep.Status.DONE, at
        sweep.save()
    return {
        "days": days,
        "snapshots": days * len(customers),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _timed(session, url: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    response = session.get(url, timeout=60, allow_redirects=False)
    wall = (time.perf_counter() - started) * 1000  # includes reading a streamed body
    return wall, server_ms(response), response.status_code


def main() -> dict:
    results: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), **machine()}
    results["setup"] = {
        "customers_per_region": CUSTOMERS_PER_REGION,
        "devices_per_customer": DEVICES,
        "latency_ms": LATENCY_MS,
        "sim_throttle": THROTTLE,
    }
    with Simulator(
        "--customers",
        str(CUSTOMERS_PER_REGION),
        "--devices",
        str(DEVICES),
        "--latency-ms",
        str(LATENCY_MS),
        "--throttle",
        THROTTLE,
    ) as sim:
        info = sim.info()
        env = portal_env(DB)
        fresh_database(DB)
        manage(env, "migrate", "--noinput")
        manage(env, "configure_demo_regions", "--sim", sim.base_url, "--ca", sim.ca)
        manage(env, "collectstatic", "--noinput")  # production settings serve a manifest
        _django(env)
        from django.conf import settings

        results["setup"]["customers"] = customers_seed(info)
        results["setup"]["concurrency"] = settings.COMPLIANCE_CONCURRENCY
        expected = sum(
            c["devices"]
            for r in info["regions"]
            for c in r["customers"]
            if c["relationship"]["status"] == "active"
        )
        results["setup"]["devices_expected_active"] = expected

        # History first: the sweeps then run, and the dashboard reads, as in production.
        results["history"] = _history(HISTORY_DAYS)
        results_save("compliance", results)
        results["baseline"] = _sequential_baseline(BASELINE_CUSTOMERS)
        results_save("compliance", results)
        results["sweep_cold"] = _sweep(sim, "cold")
        results_save("compliance", results)
        results["sweep_warm"] = _sweep(sim, "warm")
        results_save("compliance", results)
        results["speedup_vs_sequential"] = round(
            results["baseline"]["extrapolated_s"] / results["sweep_cold"]["seconds"], 1
        )

        manager = next(a for a in info["agents"] if a["username"] == "manager@contosopartners.com")
        with gunicorn(env, sim) as base:
            browser = sign_in(base, sim, manager["username"], manager["password"])
            results["dashboard"] = {}
            for name, path in {
                "own_region": "/compliance/",
                "all_regions": "/compliance/?region=all",
                "export_all_csv": "/compliance/export.csv?region=all",
            }.items():
                _timed(browser, f"{base}{path}")  # warm-up: connections, template cache
                walls, servers = [], []
                for _ in range(RUNS):
                    wall, srv, status = _timed(browser, f"{base}{path}")
                    assert status == 200, (path, status)
                    walls.append(wall)
                    servers.append(srv)
                results["dashboard"][name] = {
                    "median_server_ms": round(median(servers), 1),
                    "p95_server_ms": round(p95(servers), 1),
                    "median_wall_ms": round(median(walls), 1),
                }
    results_save("compliance", results)
    _report(results)
    return results


def _report(r: dict) -> None:
    s = r["setup"]
    print(
        f"\n== Compliance ({s['customers']} customers x {s['devices_per_customer']} devices, "
        f"{s['latency_ms']} ms latency, {s['concurrency']} threads; {r['cores']} cores, {r['cpu']})"
    )
    b = r["baseline"]
    print(
        f"{'run':<22}{'seconds':>9}{'token':>7}{'disc.':>7}{'graph':>7}{'429s':>6}"
        f"{'failed':>8}  devices"
    )
    print(
        f"{'sequential (extrap.)':<22}{b['extrapolated_s']:>9}{'':>7}{'':>7}{'':>7}{'':>6}"
        f"{b['failed']:>8}  ({b['customers_measured']} customers in {b['seconds_measured']} s, "
        f"{b['per_customer_ms']} ms each)"
    )
    for key in ("sweep_cold", "sweep_warm"):
        w = r[key]
        q = w["requests"]
        print(
            f"{key:<22}{w['seconds']:>9}{q['token']:>7}{q['discovery']:>7}{q['graph']:>7}"
            f"{q['throttled_429']:>6}{w['failed']:>8}  {w['devices_counted']} counted "
            f"(expected {s['devices_expected_active']} on active relationships)"
        )
    print(
        f"cold sweep {r['speedup_vs_sequential']}x faster than sequential "
        f"(target <= {SWEEP_TARGET_S:.0f} s: "
        f"{'PASS' if r['sweep_cold']['seconds'] <= SWEEP_TARGET_S else 'FAIL'})"
    )
    h = r["history"]
    print(
        f"history: {h['snapshots']} snapshots ({h['days']} days) "
        f"bulk-created in {h['seconds']:.1f} s"
    )
    for name, m in r["dashboard"].items():
        if name.startswith("export"):  # streamed: the body is produced after Server-Timing
            print(f"{name:<16} median {m['median_wall_ms']} ms wall (whole CSV downloaded)")
            continue
        print(
            f"{name:<16} median {m['median_server_ms']} ms server, "
            f"p95 {m['p95_server_ms']} ms (target <= {DASHBOARD_TARGET_MS:.0f})"
        )


if __name__ == "__main__":
    main()
