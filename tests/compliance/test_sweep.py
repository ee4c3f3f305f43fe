"""Sweeps against the simulator: counts that match Microsoft's data, faults, the lock."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests

from compliance.models import ComplianceSnapshot, ComplianceSweep, CustomerCompliance
from compliance.services import compliance_sweep, sweep_start

pytestmark = pytest.mark.django_db(transaction=True)


def _app_graph(sim, region: dict, tenant_id: str) -> requests.Session:
    """The simulator's own answer, read directly with an app token (no portal code)."""
    session = sim.new_session()
    session.headers["Authorization"] = f"Bearer {sim.app_token(region, tenant_id)}"
    return session


def _truth(sim, region: dict, tenant_id: str) -> tuple[Counter, Counter, dict]:
    """(states, systems, summary) straight from the simulator."""
    graph = _app_graph(sim, region, tenant_id)
    url = f"{sim.base_url}/graph/v1.0/deviceManagement/managedDevices?$top=999"
    states: Counter = Counter()
    systems: Counter = Counter()
    while url:
        body = graph.get(url, timeout=10).json()
        for d in body["value"]:
            states[d["complianceState"]] += 1
            systems[d["operatingSystem"]] += 1
        url = body.get("@odata.nextLink")
    summary = graph.get(
        f"{sim.base_url}/graph/v1.0/deviceManagement/deviceCompliancePolicyDeviceStateSummary",
        timeout=10,
    ).json()
    return states, systems, summary


def _run_sweep() -> ComplianceSweep:
    sweep, created = sweep_start(requested_by="test")
    assert created
    done = compliance_sweep(sweep_id=sweep.pk)
    assert done is not None
    return done


def _active(world, slug="us"):
    region = next(r for r in world["regions"] if r["slug"] == slug)
    return region, [c for c in region["customers"] if c["relationship"]["status"] == "active"]


def test_a_sweep_stores_the_same_counts_microsoft_reports(sim, world, customers):
    sweep = _run_sweep()
    assert sweep.status == "done"
    region, active = _active(world)
    for info in active[:3]:
        snap = ComplianceSnapshot.objects.get(sweep=sweep, customer__tenant_id=info["tenant_id"])
        states, systems, summary = _truth(sim, region, info["tenant_id"])
        assert snap.ok, snap.error
        assert snap.device_total == sum(states.values()) == info["devices"]
        assert snap.compliant == states["compliant"] == summary["compliantDeviceCount"]
        assert snap.noncompliant == states["noncompliant"] == summary["nonCompliantDeviceCount"]
        assert snap.in_grace_period == states["inGracePeriod"] == summary["inGracePeriodCount"]
        assert snap.error_devices == states["error"]
        assert snap.os_counts == {k: v for k, v in systems.items() if v}


def test_one_snapshot_per_customer_per_sweep_and_the_pointers_follow(world, customers):
    first, second = _run_sweep(), _run_sweep()
    everyone = sum(len(v) for v in customers.values())
    assert ComplianceSnapshot.objects.filter(sweep=first).count() == everyone
    assert ComplianceSnapshot.objects.filter(sweep=second).count() == everyone
    assert first.total == everyone and first.done == everyone
    pointers = CustomerCompliance.objects.filter(last_snapshot__sweep=second)
    assert pointers.count() == everyone


def test_the_expired_relationship_is_recorded_on_its_snapshot_and_the_sweep_goes_on(
    world, customers
):
    sweep = _run_sweep()
    expired = [
        c["tenant_id"]
        for r in world["regions"]
        for c in r["customers"]
        if c["relationship"]["status"] != "active"
    ]
    assert expired
    failed = ComplianceSnapshot.objects.filter(sweep=sweep, ok=False)
    assert sorted(str(s.customer.tenant_id) for s in failed) == sorted(expired)
    for snap in failed:
        # Graph's 403, or Entra's AADSTS700016 (the app is not known there any more): either
        # way the relationship the last sync read as expired is the reason, said as such.
        assert snap.error_kind == "expired"
        assert "relationship with this customer has expired" in snap.error
    assert sweep.failed == len(expired)
    assert ComplianceSnapshot.objects.filter(sweep=sweep, ok=True).count() == (
        sum(len(v) for v in customers.values()) - len(expired)
    )


def test_a_sweep_through_throttling_and_random_server_errors_completes_with_correct_counts(
    sim, world, customers, settings
):
    settings.COMPLIANCE_PAGE_SIZE = 5  # several pages per tenant, so throttling bites
    region, active = _active(world)
    slow, hopeless = active[0], active[1]
    # One tenant answers 429 with a short Retry-After (the client waits and goes on) ...
    sim.faults(tenant=slow["tenant_id"], throttle={"limit": 2, "window": 1})
    # ... another one with a Retry-After beyond the retry budget: recorded, not waited for.
    sim.faults(tenant=hopeless["tenant_id"], throttle={"limit": 1, "window": 120})
    sim.faults(error_rate=0.08)
    before = sim.requests()["counters"]["graph"]
    sweep = _run_sweep()
    assert sweep.status == "done"
    log = sim.requests()
    assert any(e["status"] == 429 for e in log["requests"])
    assert log["counters"]["graph"] > before
    sim.faults(error_rate=0.0)
    snaps = {str(s.customer.tenant_id): s for s in ComplianceSnapshot.objects.filter(sweep=sweep)}
    throttled = snaps[hopeless["tenant_id"]]
    assert not throttled.ok and throttled.error_kind == "throttled"
    assert "throttling" in throttled.error
    survived = snaps[slow["tenant_id"]]
    assert survived.ok, survived.error
    assert survived.device_total == slow["devices"]
    ok = [s for s in snaps.values() if s.ok]
    # Random 5xx are retried (Graph client, then the sweep): nearly every customer succeeds.
    assert len(ok) >= len(snaps) - 4
    for info in active[2:5]:
        snap = snaps[info["tenant_id"]]
        if snap.ok:
            states, _, _ = _truth(sim, region, info["tenant_id"])
            assert snap.compliant == states["compliant"]
            assert snap.device_total == info["devices"]


def test_two_sweeps_started_together_run_once(world, customers):
    results: list = []
    barrier = threading.Barrier(2)

    def start() -> None:
        from django.db import connection

        try:
            barrier.wait()
            results.append(sweep_start(requested_by="race"))
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(created for _, created in results) == [False, True]
    assert results[0][0].pk == results[1][0].pk
    sweep_id = results[0][0].pk

    ran: list = []

    def run() -> None:
        from django.db import connection

        try:
            barrier.wait()
            ran.append(compliance_sweep(sweep_id=sweep_id))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in ran) == 1  # the second delivery found nothing to do
    everyone = sum(len(v) for v in customers.values())
    assert ComplianceSnapshot.objects.filter(sweep_id=sweep_id).count() == everyone
    assert ComplianceSweep.objects.count() == 1


def test_a_sweep_over_the_mixed_gdap_world_reports_each_customers_real_reason(
    sim, world, customers
):
    region, active = _active(world)
    gdap = [c for c in active if c["relationship"]["type"] == "gdap"]
    unconsented, no_roles = gdap[0]["tenant_id"], gdap[1]["tenant_id"]
    sim.consent(unconsented, consented=False)  # no service principal: no app token at all
    sim.consent(no_roles, consented=True, app_roles=["User.Read.All"])  # no Intune app role
    dap = next(c["tenant_id"] for c in active if c["relationship"]["type"] == "dap")
    mlt = next(c["tenant_id"] for c in active if c["relationship"]["type"] == "mlt")
    sweep = _run_sweep()

    def snap(tenant_id: str) -> ComplianceSnapshot:
        return ComplianceSnapshot.objects.get(sweep=sweep, customer__tenant_id=tenant_id)

    refused = snap(unconsented)
    assert (refused.ok, refused.error_kind) == (False, "not_consented")
    assert "AADSTS700016" in refused.error and "My access" in refused.error
    assert "wait a few minutes" not in refused.error
    roleless = snap(no_roles)
    assert (roleless.ok, roleless.error_kind) == (False, "forbidden")
    assert "app role" in roleless.error and "My access" in roleless.error
    expired = next(
        c["tenant_id"] for c in region["customers"] if c["relationship"]["status"] == "expired"
    )
    lapsed = snap(expired)
    assert (lapsed.ok, lapsed.error_kind) == (False, "expired")
    assert "has expired" in lapsed.error and "new GDAP relationship" in lapsed.error
    assert "few minutes" not in lapsed.error and "just created" not in lapsed.error
    # DAP (AdminAgents preconsent), MLT and the other consented GDAP customers are swept.
    assert snap(dap).ok and snap(mlt).ok and snap(gdap[2]["tenant_id"]).ok
