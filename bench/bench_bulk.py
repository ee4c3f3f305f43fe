"""Issue 14 benchmark: block 500 users of one customer at 100 ms simulated latency, as a bulk
job (customers.bulk.bulk_execute, what the Celery task runs) and one by one
(customers.action_calls.action_perform per user, what a detail page's click runs). Prints a
table, writes bench/results/bulk.json.

A manager signs in through gunicorn (production settings, TLS) as a browser would; their
session row then lends its tokens to the job, in this process, against a throwaway PostgreSQL
database. Graph round trips are counted by the simulator (a `$batch` is one). The job blocks
the users, a bulk unblock lets them sign in again, then the baseline blocks the first
BASELINE_USERS of them one at a time (extrapolated to all when fewer).
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

from bench.common import (
    ROOT,
    Simulator,
    fresh_database,
    gunicorn,
    machine,
    manage,
    portal_env,
    results_save,
    sign_in,
)
from regions.permissions import ACTION_SCOPES, CUSTOMER_READ_PERMISSIONS

LATENCY_MS = 100
USERS = 500
SIM_USERS = 600  # per customer tenant; a few of them are generated already blocked
BASELINE_USERS = int(os.environ.get("BENCH_BULK_BASELINE_USERS", USERS))
DB = "portal_bench_bulk"
MANAGER = "manager@contosopartners.com"
TARGET_ROUND_TRIPS_PER_USER = 2.0
TARGET_SPEEDUP = 10.0
# The seeded GDAP consents give reads only; the actions need these delegated writes too.
# Reference: https://learn.microsoft.com/en-us/graph/permissions-reference
SCOPES = [*CUSTOMER_READ_PERMISSIONS, *ACTION_SCOPES]


def _django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["LOG_LEVEL"] = "ERROR"
    import django

    django.setup()


def _counters(sim: Simulator) -> dict[str, int]:
    return dict(sim.requests()["counters"])


def _delta(sim: Simulator, before: dict[str, int]) -> dict[str, int]:
    after = _counters(sim)
    return {k: after.get(k, 0) - before.get(k, 0) for k in ("token", "graph")}


def _tenant(info: dict) -> str:
    us = next(r for r in info["regions"] if r["slug"] == "us")
    return next(
        c["tenant_id"]
        for c in us["customers"]
        if c["relationship"]["type"] == "gdap"
        and c["relationship"]["status"] == "active"
        and not c.get("big")
    )


def _seed(info: dict, tenant: str) -> None:
    """The customers in the database, synced as the schedule would (GDAP roles known)."""
    from customers.models import Customer, RelationshipStatus
    from customers.services import customers_sync, sync_run_start
    from regions.models import Region

    for r in info["regions"]:
        region = Region.objects.get(slug=r["slug"])
        for c in r["customers"]:
            Customer.objects.get_or_create(
                tenant_id=c["tenant_id"],
                defaults={
                    "region": region,
                    "name": c["name"],
                    "default_domain": c["domain"],
                    "relationship_status": RelationshipStatus.ACTIVE
                    if c["relationship"]["status"] == "active"
                    else RelationshipStatus.EXPIRED,
                },
            )
    run, _ = sync_run_start(region=Region.objects.get(slug="us"))
    customers_sync(run_id=run.pk)
    assert Customer.objects.filter(tenant_id=tenant).exists()


def _bulk(sim: Simulator, session, tenant: str, action: str, ids: list[str]) -> dict:
    from accounts.models import User
    from customers.actions import Target
    from customers.bulk import bulk_execute, bulk_start
    from customers.models import Customer
    from portal.celery import app

    # The job runs here, not in a worker: its queued message goes to a queue nobody reads.
    queue = f"bench-bulk-{uuid.uuid4().hex}"
    app.conf.task_default_queue = queue
    run, created = bulk_start(
        session=session,
        customer=Customer.objects.get(tenant_id=tenant),
        user=User.objects.get(upn=MANAGER),
        target=Target.USER,
        action_name=action,
        object_ids=ids,
    )
    assert created, "a bulk job was already unfinished"
    before = _counters(sim)
    started = time.perf_counter()
    done = bulk_execute(run_id=run.pk)
    seconds = time.perf_counter() - started
    requests = _delta(sim, before)
    _drop_queue(queue)
    assert done is not None and done.status == "done", done and done.error
    return {
        "users": len(ids),
        "seconds": round(seconds, 2),
        "succeeded": done.succeeded,
        "failed": done.failed,
        "requests": requests,
        "round_trips_per_user": round(requests["graph"] / len(ids), 3),
        "ms_per_user": round(1000 * seconds / len(ids), 1),
    }


def _drop_queue(queue: str) -> None:
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)


def _one_by_one(sim: Simulator, session, tenant: str, ids: list[str], total: int) -> dict:
    from customers.action_calls import action_perform
    from customers.actions import ACTIONS_BY_NAME, Target
    from customers.models import Customer
    from regions.clients import graph_as_agent

    customer = Customer.objects.get(tenant_id=tenant)
    action = ACTIONS_BY_NAME[(Target.USER, "block-sign-in")]
    graph = graph_as_agent(session=session, region=customer.region, tenant_id=tenant)
    before = _counters(sim)
    started = time.perf_counter()
    outcomes = [
        action_perform(graph=graph, customer=customer, action=action, object_id=user_id)
        for user_id in ids
    ]
    seconds = time.perf_counter() - started
    requests = _delta(sim, before)
    return {
        "users_measured": len(ids),
        "seconds_measured": round(seconds, 2),
        "succeeded": sum(o.ok for o in outcomes),
        "requests": requests,
        "round_trips_per_user": round(requests["graph"] / len(ids), 3),
        "ms_per_user": round(1000 * seconds / len(ids), 1),
        "extrapolated": len(ids) < total,
        "seconds_for_all": round(seconds / len(ids) * total, 2),
    }


def _round_trip_ms(sim: Simulator, session, tenant: str) -> float:
    """One simulated Graph round trip as the job's client sees it (median of 9)."""
    from customers.models import Customer
    from regions.clients import graph_as_agent

    customer = Customer.objects.get(tenant_id=tenant)
    graph = graph_as_agent(session=session, region=customer.region, tenant_id=tenant)
    graph.get("/organization", params={"$select": "id"})
    times = []
    for _ in range(9):
        started = time.perf_counter()
        graph.get("/organization", params={"$select": "id"})
        times.append(1000 * (time.perf_counter() - started))
    return round(sorted(times)[len(times) // 2], 1)


def main() -> dict:
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    results: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), **machine()}
    results["setup"] = {
        "latency_ms": LATENCY_MS,
        "users": USERS,
        "simulated_users_per_tenant": SIM_USERS,
        "baseline_users": min(BASELINE_USERS, USERS),
    }
    with Simulator("--users", str(SIM_USERS), "--latency-ms", str(LATENCY_MS)) as sim:
        info = sim.info()
        tenant = _tenant(info)
        sim.consent(tenant, consented=True, scopes=SCOPES)
        env = portal_env(DB)
        fresh_database(DB)
        manage(env, "migrate", "--noinput")
        manage(env, "configure_demo_regions", "--sim", sim.base_url, "--ca", sim.ca)
        manage(env, "collectstatic", "--noinput")  # production settings serve a manifest
        _django(env)
        from django.conf import settings
        from django.contrib.sessions.backends.db import SessionStore

        _seed(info, tenant)
        manager = next(a for a in info["agents"] if a["username"] == MANAGER)
        with gunicorn(env, sim) as base:
            browser = sign_in(base, sim, manager["username"], manager["password"])
        session = SessionStore(session_key=browser.cookies[settings.SESSION_COOKIE_NAME])
        assert session.load(), "the manager's session is not in the database"

        from regions.clients import graph_as_app
        from regions.models import Region

        app_graph = graph_as_app(region=Region.objects.get(slug="us"), tenant_id=tenant)
        users = app_graph.get("/users", params={"$top": 999, "$select": "id,accountEnabled"})
        # Not the customer's own admins: a manager's User Administrator may not block a
        # Global Administrator (Entra's "Who can perform sensitive actions").
        customer = next(
            c for r in info["regions"] for c in r["customers"] if c["tenant_id"] == tenant
        )
        admins = {a["user_id"] for a in customer.get("admins", ())}
        ids = [
            u["id"]
            for u in users["value"]
            if u["accountEnabled"] is not False and u["id"] not in admins
        ][:USERS]
        assert len(ids) == USERS, f"only {len(ids)} enabled users"
        results["setup"]["tenant"] = tenant
        results["round_trip_ms"] = _round_trip_ms(sim, session, tenant)

        results["bulk_block"] = _bulk(sim, session, tenant, "block-sign-in", ids)
        results_save("bulk", results)
        results["bulk_unblock"] = _bulk(sim, session, tenant, "unblock-sign-in", ids)
        results_save("bulk", results)
        baseline = ids[: min(BASELINE_USERS, USERS)]
        results["one_by_one_block"] = _one_by_one(sim, session, tenant, baseline, USERS)
        results["speedup"] = round(
            results["one_by_one_block"]["seconds_for_all"] / results["bulk_block"]["seconds"], 1
        )
        blocked = app_graph.get("/users", params={"$top": 999, "$select": "id,accountEnabled"})
        results["blocked_after_baseline"] = sum(
            1 for u in blocked["value"] if u["id"] in set(baseline) and u["accountEnabled"] is False
        )
    results_save("bulk", results)
    _report(results)
    return results


def _report(r: dict) -> None:
    s = r["setup"]
    print(
        f"\n== Bulk block ({s['users']} users of one customer, {s['latency_ms']} ms latency, "
        f"round trip {r['round_trip_ms']} ms; {r['cores']} cores, {r['cpu']})"
    )
    print(f"{'run':<26}{'seconds':>9}{'graph':>7}{'token':>7}{'RT/user':>9}{'ms/user':>9}  ok")
    for key in ("bulk_block", "bulk_unblock"):
        b = r[key]
        q = b["requests"]
        print(
            f"{key:<26}{b['seconds']:>9}{q['graph']:>7}{q['token']:>7}"
            f"{b['round_trips_per_user']:>9}{b['ms_per_user']:>9}  {b['succeeded']}/{b['users']}"
        )
    o = r["one_by_one_block"]
    q = o["requests"]
    label = "one by one" + (f" ({o['users_measured']} measured)" if o["extrapolated"] else "")
    print(
        f"{label:<26}{o['seconds_for_all']:>9}{q['graph']:>7}{q['token']:>7}"
        f"{o['round_trips_per_user']:>9}{o['ms_per_user']:>9}  {o['succeeded']}/"
        f"{o['users_measured']}"
    )
    rt = r["bulk_block"]["round_trips_per_user"]
    print(
        f"bulk: {rt} round trips per user (target <= {TARGET_ROUND_TRIPS_PER_USER:g}: "
        f"{'PASS' if rt <= TARGET_ROUND_TRIPS_PER_USER else 'FAIL'}); "
        f"{r['speedup']}x faster than one by one (target >= {TARGET_SPEEDUP:g}x: "
        f"{'PASS' if r['speedup'] >= TARGET_SPEEDUP else 'FAIL'})"
    )


if __name__ == "__main__":
    main()
