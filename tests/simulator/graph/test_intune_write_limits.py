"""Intune's service limits, enforced by default: writes and all requests under
/deviceManagement counted per tenant (all apps) and per app per tenant, v1.0, beta and every
request inside a $batch alike; over a limit Graph's 429 with Retry-After.

# Reference: https://learn.microsoft.com/graph/throttling-limits#intune-service-limits
#   "Intune devices service limits" (managedDevice, managedDeviceOverview): POST, PUT,
#   DELETE, PATCH 400 requests per 20 seconds per tenant for all apps, 200 per app per
#   tenant; any request 4000 and 2000. "Intune device configuration service limits"
#   (deviceCompliancePolicy, deviceCompliancePolicyDeviceStateSummary): 200/100, 2000/1000.
# Reference: https://learn.microsoft.com/graph/throttling (429, Retry-After, "writes are
#   throttled but reads are still permitted")
# Reference: https://learn.microsoft.com/graph/json-batching (each request is evaluated
#   against the limits on its own: a 429 inside a 200 batch)
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from simulator.config import SeedConfig
from simulator.context import SimContext
from simulator.faults import INTUNE_LIMITS
from simulator.signing import SigningKeys
from simulator.world import Tenant
from tests.simulator.graph.test_writes import AGENT, ALL_WRITES, Graph, error

DEVICE_WRITES_PER_APP = 200  # Intune devices: per app per tenant, 20 s
DEVICE_WRITES_PER_TENANT = 400  # Intune devices: per tenant for all apps, 20 s
DEVICE_READS_PER_APP = 2000  # Intune devices, any request: per app per tenant, 20 s


@pytest.fixture(scope="module")
def keys() -> SigningKeys:
    return SigningKeys.generate()


@pytest.fixture
def graph(keys: SigningKeys) -> Graph:
    """The simulator's Graph in process (tests/simulator/graph/test_writes.py's harness)."""
    return Graph(SimContext(config=SeedConfig(), signing=keys))


def as_app(graph: Graph, tenant: Tenant, app_id: str) -> str:
    """The agent's delegated token issued to another app of the partner (a second tool)."""
    agent = graph.ctx.world.agent(AGENT)
    assert agent is not None
    return graph._sign(
        tenant,
        idtyp="user",
        oid=agent.object_id,
        scp=" ".join(ALL_WRITES),
        upn=AGENT,
        appid=app_id,
    )


def sync_path(graph: Graph, tenant: Tenant, version: str = "v1.0") -> str:
    device = graph.first_device(tenant)
    return f"{version}/deviceManagement/managedDevices/{device['id']}/syncDevice"


def sync(graph: Graph, tenant: Tenant, token: str, version: str = "v1.0") -> Any:
    return graph.call("POST", sync_path(graph, tenant, version), token)


def fill(graph: Graph, tenant: Tenant, token: str, count: int) -> None:
    """`count` accepted writes, half of them on beta: both versions count alike."""
    for i in range(count):
        response = sync(graph, tenant, token, "beta" if i % 2 else "v1.0")
        assert response.status_code == 204, (i, response.get_data(as_text=True))


def set_faults(graph: Graph, body: dict[str, Any]) -> Any:
    return graph.client.post("/_sim/faults", json=body)


def assert_throttled(response: Any, *, window: float = 20.0) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)
    assert 1 <= int(response.headers["Retry-After"]) <= window
    body = error(response)
    assert body["code"] == "TooManyRequests"
    assert set(body["innerError"]) == {"date", "request-id", "client-request-id"}


def test_the_default_limits_are_microsofts_published_numbers(graph):
    assert graph.ctx.faults.get("intune_limits") is None
    assert graph.ctx.faults.intune_limits("devices") == {
        "window": 20.0,
        "write_tenant": 400,
        "write_app": 200,
        "any_tenant": 4000,
        "any_app": 2000,
    }
    assert graph.ctx.faults.intune_limits("device_configuration") == {
        "window": 20.0,
        "write_tenant": 200,
        "write_app": 100,
        "any_tenant": 2000,
        "any_app": 1000,
    }
    assert graph.ctx.faults.intune_limits("devices") == INTUNE_LIMITS["devices"]


def test_the_201st_intune_write_of_an_app_within_20_seconds_is_429_with_retry_after(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    fill(graph, tenant, token, DEVICE_WRITES_PER_APP)
    refused = sync(graph, tenant, token)
    assert_throttled(refused)
    assert_throttled(sync(graph, tenant, token, "beta"))
    device = graph.first_device(tenant)
    actions = graph.ctx.world.writes.patched(tenant.id, device["id"])["actions"]
    assert len(actions) == DEVICE_WRITES_PER_APP  # the refused ones did nothing


def test_intune_writes_in_another_tenant_are_not_affected(graph):
    busy = graph.customer(AGENT, has="Intune Administrator")
    fill(graph, busy, graph.delegated(busy, AGENT, ALL_WRITES), DEVICE_WRITES_PER_APP)
    other = next(
        t
        for t in graph.ctx.world.customers_of(graph.us.partner_tenant_id)
        if t.id != busy.id and t.relationship_status == "active"
    )
    token = graph.app_only(other, ("DeviceManagementManagedDevices.PrivilegedOperations.All",))
    assert sync(graph, other, token).status_code == 204
    assert_throttled(sync(graph, busy, graph.delegated(busy, AGENT, ALL_WRITES)))


def test_apps_share_the_tenants_write_limit_while_reads_still_pass(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    portal = graph.delegated(tenant, AGENT, ALL_WRITES)
    second = as_app(graph, tenant, str(uuid.uuid4()))
    third = as_app(graph, tenant, str(uuid.uuid4()))
    fill(graph, tenant, portal, DEVICE_WRITES_PER_APP)
    fill(graph, tenant, second, DEVICE_WRITES_PER_TENANT - DEVICE_WRITES_PER_APP)
    # The third app has written nothing: only the tenant's limit for all apps refuses it.
    assert_throttled(sync(graph, tenant, third))
    device = graph.first_device(tenant)
    read = graph.call("GET", f"v1.0/deviceManagement/managedDevices/{device['id']}", third)
    assert read.status_code == 200  # writes are throttled, reads are still permitted


def test_inside_a_batch_the_excess_intune_writes_are_429_inside_a_200_batch(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    fill(graph, tenant, token, DEVICE_WRITES_PER_APP - 5)
    url = "/" + sync_path(graph, tenant).removeprefix("v1.0/")
    body = {"requests": [{"id": str(i), "method": "POST", "url": url} for i in range(20)]}
    response = graph.call("POST", "v1.0/$batch", token, body)
    assert response.status_code == 200
    answers = {int(r["id"]): r for r in response.get_json()["responses"]}
    assert [answers[i]["status"] for i in range(20)] == [204] * 5 + [429] * 15
    for i in range(5, 20):
        assert 1 <= int(answers[i]["headers"]["Retry-After"]) <= 20
        assert answers[i]["body"]["error"]["code"] == "TooManyRequests"


def test_reads_of_users_are_not_affected_by_intune_writes(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    fill(graph, tenant, token, DEVICE_WRITES_PER_APP)
    assert_throttled(sync(graph, tenant, token))
    users = graph.call("GET", "v1.0/users?$top=5", token)
    assert users.status_code == 200, users.get_data(as_text=True)
    assert len(users.get_json()["value"]) == 5


def test_the_2001st_managed_device_read_of_an_app_within_20_seconds_is_429(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    device = graph.first_device(tenant)
    path = f"v1.0/deviceManagement/managedDevices/{device['id']}"
    for i in range(DEVICE_READS_PER_APP):
        assert graph.call("GET", path, token).status_code == 200, i
    assert_throttled(graph.call("GET", path, token))
    other_app = as_app(graph, tenant, str(uuid.uuid4()))
    assert graph.call("GET", path, other_app).status_code == 200  # 2000 of the tenant's 4000


def test_writes_count_toward_the_any_request_limit_and_reads_alone_hit_it(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    answer = set_faults(graph, {"tenant": tenant.id, "intune_limits": {"any_app": 3}})
    assert answer.status_code == 200
    device = graph.first_device(tenant)
    read_path = f"deviceManagement/managedDevices/{device['id']}"
    assert sync(graph, tenant, token).status_code == 204
    assert graph.call("GET", f"v1.0/{read_path}", token).status_code == 200
    assert graph.call("GET", f"beta/{read_path}", token).status_code == 200
    assert_throttled(graph.call("GET", f"v1.0/{read_path}", token))
    assert_throttled(sync(graph, tenant, token))


def test_each_intune_service_counts_its_own_requests(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    set_faults(graph, {"tenant": tenant.id, "intune_limits": {"any_app": 2}})
    devices = "v1.0/deviceManagement/managedDevices"
    for _ in range(2):
        assert graph.call("GET", devices, token).status_code == 200
    assert_throttled(graph.call("GET", "v1.0/deviceManagement/managedDeviceOverview", token))
    # Compliance policies and their summary are "Intune device configuration": other windows.
    scopes = (*ALL_WRITES, "DeviceManagementConfiguration.Read.All")
    config = graph.delegated(tenant, AGENT, scopes)
    policies = "v1.0/deviceManagement/deviceCompliancePolicies"
    summary = "v1.0/deviceManagement/deviceCompliancePolicyDeviceStateSummary"
    assert graph.call("GET", policies, config).status_code == 200
    assert graph.call("GET", summary, config).status_code == 200
    assert_throttled(graph.call("GET", summary, config))


def test_after_the_window_passes_intune_writes_are_accepted_again(graph):
    # The simulator's windows run on its monotonic clock: a tiny window instead of 20 s.
    tenant = graph.customer(AGENT, has="Intune Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    set_faults(graph, {"intune_limits": {"window": 0.5, "write_app": 2}})
    fill(graph, tenant, token, 2)
    refused = sync(graph, tenant, token)
    assert_throttled(refused, window=1)
    time.sleep(0.6)
    assert sync(graph, tenant, token).status_code == 204


def test_a_per_tenant_override_applies_there_only_and_null_restores_microsofts_numbers(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    other = next(
        t
        for t in graph.ctx.world.customers_of(graph.us.partner_tenant_id)
        if t.id != tenant.id and t.relationship_status == "active"
    )
    answer = set_faults(graph, {"tenant": tenant.id, "intune_limits": {"write_app": 1}})
    assert answer.get_json()["tenants"][tenant.id]["intune_limits"] == {"write_app": 1}
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    assert sync(graph, tenant, token).status_code == 204
    assert_throttled(sync(graph, tenant, token))
    app = graph.app_only(other, ("DeviceManagementManagedDevices.PrivilegedOperations.All",))
    fill(graph, other, app, 2)
    set_faults(graph, {"tenant": tenant.id, "intune_limits": None})
    assert sync(graph, tenant, token).status_code == 204  # 2 of Microsoft's 200


def test_a_global_override_lowers_every_tenant_and_null_restores_microsofts_numbers(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    set_faults(graph, {"intune_limits": {"write_tenant": 1}})
    assert sync(graph, tenant, token).status_code == 204
    assert_throttled(sync(graph, tenant, token))
    set_faults(graph, {"intune_limits": None})
    assert graph.ctx.faults.intune_limits("devices") == INTUNE_LIMITS["devices"]
    assert sync(graph, tenant, token).status_code == 204


@pytest.mark.parametrize(
    ("limits", "says"),
    [
        ({"writes": 5}, "Unknown intune_limits key 'writes'"),
        ({"write_app": 0}, "whole number >= 1"),
        ({"write_app": 1.5}, "whole number >= 1"),
        ({"any_app": True}, "must be a number"),
        ({"window": 0}, "window must be > 0"),
        ([200], "must be null or an object"),
        ({}, "must be null or an object"),
    ],
)
def test_an_intune_limits_override_graph_could_not_have_is_refused_with_400(graph, limits, says):
    answer = set_faults(graph, {"intune_limits": limits})
    assert answer.status_code == 400
    assert says in answer.get_data(as_text=True)
    assert graph.ctx.faults.get("intune_limits") is None


def test_the_throttle_fault_still_applies_on_top_of_intunes_limits(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    set_faults(graph, {"tenant": tenant.id, "throttle": {"limit": 1, "window": 60}})
    assert sync(graph, tenant, token).status_code == 204
    assert_throttled(sync(graph, tenant, token), window=60)
