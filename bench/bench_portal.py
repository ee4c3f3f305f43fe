"""Issue 3 benchmark: round trips per page, warm page latency vs one simulated round trip,
the 100k-user tenant, and /customers/ over 5,000 customers. Prints a table, writes JSON."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from bench.common import (
    ROOT,
    Simulator,
    client,
    fresh_database,
    gunicorn,
    machine,
    manage,
    median,
    p95,
    portal_env,
    rss_kib,
    server_ms,
    sign_in,
    worker_pids,
)

LATENCY_MS = 100
RUNS = 15
DB = "portal_bench"


def _count(sim: Simulator) -> dict[str, int]:
    return dict(sim.requests()["counters"])


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in ("token", "graph")}


def _seed_customers(env: dict[str, str], sim_info: dict, extra: int) -> None:
    """The simulator's customers plus `extra` synthetic ones in region us (list page only)."""
    script = f"""
import json, uuid
from customers.models import Customer
from regions.models import Region
info = json.loads({json.dumps(json.dumps(sim_info))})
rows = []
for r in info["regions"]:
    region = Region.objects.get(slug=r["slug"])
    for c in r["customers"]:
        rows.append(Customer(region=region, tenant_id=c["tenant_id"], name=c["name"],
                             default_domain=c["domain"], relationship_status="active"))
us = Region.objects.get(slug="us")
words = "Alpine Blue Cedar Delta Ember Fjord Granite Harbor Iris Juniper".split()
for i in range({extra}):
    name = f"{{words[i % 10]}} {{words[(i // 10) % 10]}} Holdings {{i}}"
    rows.append(Customer(region=us, tenant_id=uuid.uuid5(uuid.NAMESPACE_DNS, f"bench-{{i}}"),
                         name=name, default_domain=f"bench{{i}}.onmicrosoft.com",
                         relationship_status="active"))
Customer.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
print(Customer.objects.count())
"""
    manage(env, "shell", "-c", script)


def _timed(session, url: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    response = session.get(url, timeout=60, allow_redirects=False)
    wall = (time.perf_counter() - started) * 1000
    return wall, server_ms(response), response.status_code


def main() -> dict:
    results: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), **machine()}
    with Simulator(
        "--latency-ms", str(LATENCY_MS), "--big-tenant-users", "100000", "--customers", "8"
    ) as sim:
        info = sim.info()
        env = portal_env(DB)
        fresh_database(DB)
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        manage(env, "configure_demo_regions", "--sim", sim.base_url, "--ca", sim.ca)
        _seed_customers(env, info, extra=5000 - len(info["regions"][0]["customers"]))
        us = next(r for r in info["regions"] if r["slug"] == "us")
        agent = next(a for a in info["agents"] if a["username"] == "agent@contosopartners.com")
        small = next(
            c for c in us["customers"] if c["relationship"]["status"] == "active" and not c["big"]
        )
        big = next(c for c in us["customers"] if c["big"])

        # One simulated round trip, measured directly: the yardstick for the warm pages.
        direct = client(sim)
        direct.headers["Authorization"] = f"Bearer {sim.app_token(us, small['tenant_id'])}"
        round_trip = [
            _timed(direct, f"{sim.base_url}/graph/v1.0/organization")[0] for _ in range(RUNS)
        ]
        results["one_round_trip_ms"] = round(median(round_trip), 1)

        with gunicorn(env, sim) as base:
            browser = sign_in(base, sim, agent["username"], agent["password"])
            pid = worker_pids(0)[0]
            tid = small["tenant_id"]

            before = _count(sim)
            wall, srv, status = _timed(browser, f"{base}/customers/{tid}/")
            assert status == 200, status
            results["overview_cold"] = {"requests": _delta(before, _count(sim)), "ms": wall}
            before = _count(sim)
            _timed(browser, f"{base}/customers/{tid}/")
            results["overview_warm"] = {"requests": _delta(before, _count(sim))}

            for page in ("", "users/"):
                walls, servers = [], []
                for _ in range(RUNS):
                    wall, srv, status = _timed(browser, f"{base}/customers/{tid}/{page}")
                    assert status == 200, (page, status)
                    walls.append(wall)
                    servers.append(srv)
                key = "overview" if not page else "users"
                results[f"{key}_warm_ms"] = {
                    "median_wall": round(median(walls), 1),
                    "p95_wall": round(p95(walls), 1),
                    "median_server": round(median(servers), 1),
                    "ratio_to_round_trip": round(median(walls) / median(round_trip), 2),
                }

            # The 100k-user tenant: first page in one Graph request, memory flat.
            _timed(browser, f"{base}/customers/{big['tenant_id']}/users/")  # token warm-up
            rss_before, _ = rss_kib(pid)
            before = _count(sim)
            walls = []
            for _ in range(RUNS):
                wall, _srv, status = _timed(browser, f"{base}/customers/{big['tenant_id']}/users/")
                assert status == 200, status
                walls.append(wall)
            delta = _delta(before, _count(sim))
            rss_after, peak = rss_kib(pid)
            results["big_tenant_users"] = {
                "users": big.get("users"),
                "graph_requests_per_page": delta["graph"] / RUNS,
                "token_requests": delta["token"],
                "median_wall_ms": round(median(walls), 1),
                "worker_rss_kib_before": rss_before,
                "worker_rss_kib_after": rss_after,
                "worker_peak_rss_kib": peak,
            }

            # /customers/ over 5,000 customers, from the database only.
            lists = {
                "list": "/customers/",
                "search": "/customers/?q=Granite",
                "page40": "/customers/?page=40",
            }
            results["customer_list"] = {}
            for name, path in lists.items():
                servers = []
                for _ in range(RUNS):
                    _wall, srv, status = _timed(browser, f"{base}{path}")
                    assert status == 200, (path, status)
                    servers.append(srv)
                results["customer_list"][name] = {
                    "median_server_ms": round(median(servers), 1),
                    "p95_server_ms": round(p95(servers), 1),
                }
    out = ROOT / "bench" / "results" / "portal.json"
    out.write_text(json.dumps(results, indent=2))
    _report(results)
    return results


def _report(r: dict) -> None:
    print(f"\n== Portal pages (simulated latency {LATENCY_MS} ms; {r['cores']} cores, {r['cpu']})")
    print(f"one simulated round trip (direct, median): {r['one_round_trip_ms']} ms")
    print(f"overview cold requests: {r['overview_cold']['requests']}  (target token 1, graph 1)")
    print(f"overview warm requests: {r['overview_warm']['requests']}  (target token 0, graph 1)")
    for key in ("overview", "users"):
        m = r[f"{key}_warm_ms"]
        print(
            f"{key:9} warm: median {m['median_wall']} ms wall, {m['median_server']} ms server, "
            f"p95 {m['p95_wall']} ms, {m['ratio_to_round_trip']}x round trip (target <= 1.5x)"
        )
    b = r["big_tenant_users"]
    print(
        f"100k tenant users page: {b['graph_requests_per_page']} graph req/page, median "
        f"{b['median_wall_ms']} ms, worker RSS {b['worker_rss_kib_before']} -> "
        f"{b['worker_rss_kib_after']} KiB (peak {b['worker_peak_rss_kib']})"
    )
    for name, m in r["customer_list"].items():
        print(f"/customers/ {name:7}: median {m['median_server_ms']} ms server (target <= 100)")


if __name__ == "__main__":
    main()
