"""Soak (issue 7): concurrent agent sessions of two regions browse their customers against
gunicorn while the simulator throttles. Counts portal 5xx, latency, cross-session leaks (in the
pages and in the token each Graph request carried), and web worker memory growth."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime

from bench.common import (
    ROOT,
    Simulator,
    fresh_database,
    gunicorn,
    machine,
    manage,
    median,
    p95,
    portal_env,
    rss_kib,
    sign_in,
    worker_pids,
)

DURATION = float(os.environ.get("BENCH_SOAK_SECONDS", "120"))
DB = "portal_soak"
LOG_ENTRIES = 5000  # simulator/reqlog.py MAX_ENTRIES: the log keeps the latest this many
USERS = [
    "agent@contosopartners.com",
    "manager@contosopartners.com",
    "agent@contosopartners.eu",
    "manager@contosopartners.eu",
]
PAGES = ["", "users/", "groups/", "devices/", "managed-devices/", "users/?q=a"]
WHOAMI = re.compile(
    r'data-testid="whoami">\s*<span class="text-white">[^<]*</span>\s*·\s*([^<\s]+)'
)


def _browse(base, sim, who, password, tenants, others, deadline, out, lock) -> None:
    browser = sign_in(base, sim, who, password)
    stats = {"requests": 0, "status": Counter(), "latency": [], "leaks": []}
    i = 0
    while time.monotonic() < deadline:
        tenant = tenants[i % len(tenants)]
        page = PAGES[(i // len(tenants)) % len(PAGES)]
        i += 1
        started = time.perf_counter()
        response = browser.get(f"{base}/customers/{tenant}/{page}", timeout=60)
        stats["latency"].append((time.perf_counter() - started) * 1000)
        stats["requests"] += 1
        stats["status"][response.status_code] += 1
        body = response.text
        shown = WHOAMI.search(body)
        if shown and shown.group(1) != who:
            stats["leaks"].append(f"{who} saw the page of {shown.group(1)}")
        if response.status_code == 200 and tenant not in body:
            stats["leaks"].append(f"{who} asked for {tenant} and got another tenant's page")
        for other in others:
            if other in body:
                stats["leaks"].append(f"{who} saw {other} on {tenant}/{page}")
    with lock:
        out[who] = stats


def _check_callers(sim, expected: dict[str, str], checked: Counter) -> list[str]:
    """Each Graph request for a tenant since the soak began must carry the token of the one
    session browsing it. `checked["seen"]`: the log entries looked at already (the ones
    before the soak, e.g. the sync's app-only consent checks, are skipped); each is checked
    once."""
    entries = sim.requests()["requests"]
    if len(entries) >= LOG_ENTRIES:
        raise RuntimeError("the simulator's request log filled up: shorten the soak")
    leaks = []
    for entry in entries[checked["seen"] :]:
        if entry["kind"] != "graph" or entry.get("tenant") not in expected:
            continue
        checked["graph"] += 1
        if entry.get("caller") != expected[entry["tenant"]]:
            leaks.append(f"graph request for {entry['tenant']} carried {entry.get('caller')}")
    checked["seen"] = len(entries)
    return leaks


def main() -> dict:
    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": DURATION,
        **machine(),
    }
    with Simulator("--latency-ms", "20", "--customers", "8", "--throttle", "30/10") as sim:
        info = sim.info()
        env = portal_env(DB)
        fresh_database(DB)
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        manage(env, "configure_demo_regions", "--sim", sim.base_url, "--ca", sim.ca)
        manage(env, "sync_customers")
        agents = {a["username"]: a for a in info["agents"]}
        # Disjoint tenant sets: agent and manager of one region split its active customers.
        plan: dict[str, list[str]] = {}
        for slug in ("us", "eu"):
            region = next(r for r in info["regions"] if r["slug"] == slug)
            active = [
                c["tenant_id"]
                for c in region["customers"]
                if c["relationship"]["status"] == "active"
            ]
            who = [u for u in USERS if u.endswith(".com" if slug == "us" else ".eu")]
            plan[who[0]], plan[who[1]] = active[0::2][:3], active[1::2][:3]
        expected = {t: agents[u]["object_id"] for u, ts in plan.items() for t in ts}

        with gunicorn(env, sim, workers=2) as base:
            pids = worker_pids(0)
            rss_start = sum(rss_kib(p)[0] for p in pids)
            deadline = time.monotonic() + DURATION
            out: dict = {}
            lock = threading.Lock()
            threads = [
                threading.Thread(
                    target=_browse,
                    args=(
                        base,
                        sim,
                        u,
                        agents[u]["password"],
                        plan[u],
                        [o for o in USERS if o != u],
                        deadline,
                        out,
                        lock,
                    ),
                )
                for u in USERS
            ]
            # The requests before the soak (the sync's app-only consent checks) are not the
            # sessions': the check starts after them.
            checked: Counter = Counter(seen=len(sim.requests()["requests"]))
            for t in threads:
                t.start()
            caller_leaks: list[str] = []
            while any(t.is_alive() for t in threads):
                time.sleep(2)
                caller_leaks += _check_callers(sim, expected, checked)
            caller_leaks += _check_callers(sim, expected, checked)
            rss_end = sum(rss_kib(p)[0] for p in pids if os.path.exists(f"/proc/{p}"))
        counters = sim.requests()["counters"]

    latency = [ms for s in out.values() for ms in s["latency"]]
    status = sum((s["status"] for s in out.values()), Counter())
    page_leaks = [leak for s in out.values() for leak in s["leaks"]]
    results.update(
        sessions=len(USERS),
        tenants=len(expected),
        requests_served=sum(s["requests"] for s in out.values()),
        status=dict(sorted(status.items())),
        portal_5xx=sum(n for code, n in status.items() if code >= 500 and code not in (502, 504)),
        upstream_errors_shown=status.get(502, 0) + status.get(504, 0),
        throttled_pages=status.get(429, 0),
        p50_ms=round(median(latency), 1),
        p95_ms=round(p95(latency), 1),
        cross_session_leaks=len(page_leaks) + len(set(caller_leaks)),
        leak_examples=(page_leaks + sorted(set(caller_leaks)))[:5],
        graph_requests_checked=checked["graph"],
        simulator_counters={k: counters[k] for k in ("token", "graph")},
        worker_rss_kib_start=rss_start,
        worker_rss_kib_end=rss_end,
    )
    (ROOT / "bench" / "results" / "soak.json").write_text(json.dumps(results, indent=2))
    print(f"\n== Soak: {len(USERS)} sessions x {len(expected)} tenants, {DURATION:.0f} s")
    for key in ("requests_served", "status", "portal_5xx", "throttled_pages", "p50_ms", "p95_ms",
                "cross_session_leaks", "graph_requests_checked", "worker_rss_kib_start",
                "worker_rss_kib_end"):  # fmt: skip
        print(f"{key:24} {results[key]}")
    return results


if __name__ == "__main__":
    main()
