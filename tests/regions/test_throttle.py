"""Microsoft's budgets per (app, tenant) are spent by every process through Redis: two
processes together get no more than one budget, a Retry-After one client was given holds
the others' calls (unsent, refused the way Microsoft would), background work leaves the
agents' share, and pacing survives Redis being down.

# Reference: https://learn.microsoft.com/graph/throttling-limits#intune-service-limits
#   (limits per app per tenant: a second worker with the same app spends the same budget)
# Reference: https://learn.microsoft.com/graph/throttling#best-practices-to-handle-throttling
#   (wait the seconds in Retry-After; requests sent meanwhile are throttled again)
"""

from __future__ import annotations

import multiprocessing
import time
import uuid

import pytest

from mscloud.errors import ErrorKind, MicrosoftError
from regions import throttle
from regions.clients import graph_as_app
from regions.throttle import SharedGate, budget_of

DEVICES = ("GET", "/deviceManagement/managedDevices")
pytestmark = pytest.mark.django_db


def _a_customer(world) -> str:
    us = next(r for r in world["regions"] if r["slug"] == "us")
    return next(
        c["tenant_id"]
        for c in us["customers"]
        if c["relationship"]["type"] == "gdap" and c["relationship"]["status"] == "active"
    )


def _spend(app: str, tenant: str, calls: int, out: multiprocessing.Queue) -> None:
    gate = SharedGate(app_id=app, tenant_id=tenant, background=False)
    for _ in range(calls):
        assert gate.admit([DEVICES], max_wait=60) is None
        out.put(time.monotonic())


def test_two_processes_together_spend_one_budget_not_one_each(settings):
    settings.GRAPH_BUDGETS = {**settings.GRAPH_BUDGETS, "intune-devices": "10/1"}
    throttle.reset_local()
    app, tenant = str(uuid.uuid4()), str(uuid.uuid4())
    fork = multiprocessing.get_context("fork")
    admitted: multiprocessing.Queue = fork.Queue()
    started = time.monotonic()
    workers = [fork.Process(target=_spend, args=(app, tenant, 15, admitted)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    times = sorted(admitted.get(timeout=5) - started for _ in range(30))

    # 10 at once, then 10 a second: the 30th call of the pair goes after ~2 s. Alone, each
    # process would have finished its 15 by 0.5 s.
    assert times[-1] >= 1.8
    assert sum(1 for t in times if t < 1.0) <= 21


def test_a_retry_after_one_client_was_given_holds_another_clients_calls_unsent(
    sim, world, regions, settings
):
    settings.GRAPH_MAX_RETRY_AFTER = 1  # a page render does not wait through a long one
    tenant = _a_customer(world)
    sim.faults(tenant=tenant, throttle={"limit": 1, "window": 60})
    first = graph_as_app(region=regions["us"], tenant_id=tenant)
    first.get("/deviceManagement/managedDevices", params={"$top": 1})
    with pytest.raises(MicrosoftError) as told:
        first.get("/deviceManagement/managedDevices", params={"$top": 1})
    assert told.value.kind == ErrorKind.THROTTLED
    sent = sim.requests()["counters"]["graph"]

    other = graph_as_app(region=regions["us"], tenant_id=tenant)  # another process's client
    with pytest.raises(MicrosoftError) as held:
        other.get("/deviceManagement/managedDevices", params={"$top": 1})

    assert held.value.kind == ErrorKind.THROTTLED
    assert held.value.retry_after and 0 < held.value.retry_after <= 60
    assert sim.requests()["counters"]["graph"] == sent  # refused here, not sent to Microsoft
    # Another tenant's calls are not held.
    another = next(
        c["tenant_id"]
        for c in next(r for r in world["regions"] if r["slug"] == "us")["customers"]
        if c["relationship"]["status"] == "active" and c["tenant_id"] != tenant
    )
    graph_as_app(region=regions["us"], tenant_id=another).get(
        "/deviceManagement/managedDevices", params={"$top": 1}
    )


def test_background_work_leaves_the_agents_share_of_the_budget(settings):
    settings.GRAPH_BUDGETS = {**settings.GRAPH_BUDGETS, "intune-devices": "10/100"}
    settings.GRAPH_BACKGROUND_SHARE = 0.6
    app, tenant = str(uuid.uuid4()), str(uuid.uuid4())
    sweep = SharedGate(app_id=app, tenant_id=tenant, background=True)
    agent = SharedGate(app_id=app, tenant_id=tenant, background=False)

    assert [sweep.admit([DEVICES], max_wait=0) for _ in range(6)] == [None] * 6
    assert sweep.admit([DEVICES], max_wait=0) == pytest.approx(10, abs=0.5)  # 1 per 10 s
    assert [agent.admit([DEVICES], max_wait=0) for _ in range(4)] == [None] * 4
    assert agent.admit([DEVICES], max_wait=0) == pytest.approx(10, abs=0.5)


def test_each_item_of_a_batch_spends_its_own_services_budget(settings):
    settings.GRAPH_BUDGETS = {**settings.GRAPH_BUDGETS, "intune-configuration": "20/100"}
    app, tenant = str(uuid.uuid4()), str(uuid.uuid4())
    gate = SharedGate(app_id=app, tenant_id=tenant, background=False)
    states = (
        "GET",
        f"/deviceManagement/managedDevices/{uuid.uuid4()}/deviceCompliancePolicyStates",
    )

    assert gate.admit([states] * 15, max_wait=0) is None
    assert gate.admit([states] * 15, max_wait=0) == pytest.approx(50, abs=1)  # 10 more short
    assert gate.admit([DEVICES] * 15, max_wait=0) is None  # another service, another budget
    assert budget_of(("PATCH", "/deviceManagement/managedDevices/x")) == "intune-writes"
    assert budget_of(("GET", "/users")) == "graph"


def test_pacing_goes_on_in_one_process_when_redis_is_down(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.GRAPH_BUDGETS = {**settings.GRAPH_BUDGETS, "intune-devices": "3/100"}
    throttle.reset_local()
    try:
        gate = SharedGate(app_id=str(uuid.uuid4()), tenant_id=str(uuid.uuid4()), background=False)
        assert [gate.admit([DEVICES], max_wait=0) for _ in range(3)] == [None] * 3
        assert gate.admit([DEVICES], max_wait=0) == pytest.approx(100 / 3, abs=0.5)
        assert "pacing in this process only" in caplog.text
    finally:
        throttle.reset_local()
