"""A managed device's compliance per policy: GET /deviceManagement/managedDevices/{id}/
deviceCompliancePolicyStates, in process against the simulator's Graph.

One state per compliance policy of the device's platform, consistent with the device's
complianceState; the same on every read; Intune's permission, role and 404 shapes; $select;
counted by the "Intune device configuration" limits, where Microsoft lists
deviceCompliancePolicyState.

# Reference: https://learn.microsoft.com/powershell/module/microsoft.graph.devicemanagement/get-mgdevicemanagementmanageddevicecompliancepolicystate
#   (v1.0: GET ~/deviceManagement/managedDevices/{managedDeviceId}/deviceCompliancePolicyStates)
# Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice
#   (relationship deviceCompliancePolicyStates: "Device compliance policy states for this
#   device"; state is a complianceStatus: unknown, notApplicable, compliant, remediated,
#   nonCompliant, error, conflict, notAssigned)
# Reference: https://learn.microsoft.com/graph/throttling-limits#intune-service-limits
#   ("Intune device configuration service limits" list deviceCompliancePolicyState)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from simulator import access
from simulator.config import SeedConfig
from simulator.context import SimContext
from simulator.graph import entities, intune_limits
from simulator.signing import SigningKeys
from simulator.world import Tenant
from tests.sdkgraph import SDK_WARNINGS
from tests.simulator.graph.test_graph_sdk import run_sdk, unknown_properties
from tests.simulator.graph.test_writes import AGENT, L1, Graph, error

pytestmark = SDK_WARNINGS
READ_DEVICES = "DeviceManagementManagedDevices.Read.All"
READ_CONFIGURATION = "DeviceManagementConfiguration.Read.All"
BOTH = (READ_DEVICES, READ_CONFIGURATION)
COMPLIANCE_STATUS = {
    "unknown",
    "notApplicable",
    "compliant",
    "remediated",
    "nonCompliant",
    "error",
    "conflict",
    "notAssigned",
}
V1_PROPERTIES = {
    "id",
    "settingStates",
    "displayName",
    "version",
    "platformType",
    "state",
    "settingCount",
}
PLATFORM_OF_POLICY = {
    "#microsoft.graph.windows10CompliancePolicy": ("Windows", "windows10AndLater"),
    "#microsoft.graph.iosCompliancePolicy": ("iOS", "iOS"),
    "#microsoft.graph.androidWorkProfileCompliancePolicy": ("Android", "androidForWork"),
    "#microsoft.graph.macOSCompliancePolicy": ("macOS", "macOS"),
}


@pytest.fixture(scope="module")
def keys() -> SigningKeys:
    return SigningKeys.generate()


@pytest.fixture
def graph(keys: SigningKeys) -> Graph:
    return Graph(SimContext(config=SeedConfig(), signing=keys))


@pytest.fixture
def tenant(graph: Graph) -> Tenant:
    return graph.customer(AGENT, has="Intune Administrator")


def devices(graph: Graph, tenant: Tenant) -> list[dict[str, Any]]:
    coll = entities.managed_device_set(graph.ctx, tenant, "v1.0")
    return [coll.item(i) for i in range(coll.size)]


def states_path(device_id: str, version: str = "v1.0", query: str = "") -> str:
    path = f"{version}/deviceManagement/managedDevices/{device_id}/deviceCompliancePolicyStates"
    return f"{path}?{query}" if query else path


def read_states(graph: Graph, device_id: str, token: str, **kwargs: str) -> list[dict[str, Any]]:
    response = graph.call("GET", states_path(device_id, **kwargs), token)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["value"]


def intune_inner(response: Any) -> dict[str, Any]:
    """Intune's own JSON inside the Graph error's message (unwrapped once for UnknownError)."""
    inner = json.loads(error(response)["message"])
    if "ErrorCode" in inner:
        inner = json.loads(inner["Message"])
    assert inner["_version"] == 3, inner
    return inner


def test_each_device_has_one_state_per_compliance_policy_of_its_platform(graph, tenant):
    token = graph.app_only(tenant, BOTH)
    policies = graph.call("GET", "v1.0/deviceManagement/deviceCompliancePolicies", token)
    by_name = {p["displayName"]: p for p in policies.get_json()["value"]}

    for device in devices(graph, tenant):
        states = read_states(graph, device["id"], token)

        expected = {
            name
            for name, p in by_name.items()
            if PLATFORM_OF_POLICY[p["@odata.type"]][0] == device["operatingSystem"]
        }
        assert {s["displayName"] for s in states} == expected, device["operatingSystem"]
        for state in states:
            policy = by_name[state["displayName"]]
            assert set(state) == V1_PROPERTIES
            assert state["version"] == policy["version"]
            assert state["platformType"] == PLATFORM_OF_POLICY[policy["@odata.type"]][1]
            assert state["state"] in COMPLIANCE_STATUS
            assert state["id"] != policy["id"]  # the state's own key, not the policy's


def test_a_noncompliant_device_fails_a_policy_and_a_compliant_one_fails_none(graph, tenant):
    token = graph.app_only(tenant, BOTH)
    seen = set()

    for device in devices(graph, tenant):
        states = [s["state"] for s in read_states(graph, device["id"], token)]
        seen.add(device["complianceState"])
        if device["complianceState"] in ("noncompliant", "inGracePeriod"):
            assert "nonCompliant" in states, device
        elif device["complianceState"] == "compliant":
            assert states and set(states) == {"compliant"}, device
        else:
            assert "nonCompliant" not in states and "compliant" not in states, device

    assert {"compliant", "noncompliant"} <= seen  # the tenant has both kinds to compare


def test_a_policy_state_counts_its_settings_and_a_failing_one_names_the_failing_setting(
    graph, tenant
):
    token = graph.app_only(tenant, BOTH)

    for device in devices(graph, tenant):
        for state in read_states(graph, device["id"], token):
            settings = state["settingStates"]
            assert state["settingCount"] == len(settings) > 0
            failing = [s for s in settings if s["state"] == "nonCompliant"]
            assert bool(failing) == (state["state"] == "nonCompliant"), state
            for setting in settings:
                assert setting["setting"].endswith("." + setting["settingName"])
                assert setting["userPrincipalName"] == device["userPrincipalName"]
                assert setting["sources"][0]["displayName"] == state["displayName"]
            encryption = settings[0]
            if state["state"] == "nonCompliant" and "Encryption" in encryption["settingName"]:
                assert (encryption["state"] == "nonCompliant") == (not device["isEncrypted"])


def test_the_states_are_the_same_on_every_read_and_in_a_second_simulator_of_the_seed(
    graph, tenant, keys
):
    token = graph.app_only(tenant, BOTH)
    device = devices(graph, tenant)[0]
    first = read_states(graph, device["id"], token)
    again = read_states(graph, device["id"].upper(), token)  # keys are case-insensitive

    second = Graph(SimContext(config=SeedConfig(), signing=keys))
    other = read_states(second, device["id"], second.app_only(tenant, BOTH))

    assert first == again == other


def test_select_returns_only_the_named_properties_and_refuses_an_unknown_one(graph, tenant):
    token = graph.app_only(tenant, BOTH)
    device = devices(graph, tenant)[0]

    response = graph.call(
        "GET", states_path(device["id"], query="$select=displayName,state"), token
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["@odata.context"].endswith(
        f"managedDevices('{device['id']}')/deviceCompliancePolicyStates(displayName,state)"
    )
    assert body["value"] and all(set(s) == {"displayName", "state"} for s in body["value"])

    refused = graph.call("GET", states_path(device["id"], query="$select=complianceState"), token)
    assert refused.status_code == 400
    assert "complianceState" in error(refused)["message"]


def test_beta_adds_the_user_and_v1_does_not_know_it(graph, tenant):
    token = graph.app_only(tenant, BOTH)
    device = devices(graph, tenant)[0]

    beta = read_states(graph, device["id"], token, version="beta")
    assert {s["userPrincipalName"] for s in beta} == {device["userPrincipalName"]}
    assert {s["userId"] for s in beta} == {device["userId"]}
    v1 = graph.call("GET", states_path(device["id"], query="$select=userId"), token)
    assert v1.status_code == 400


def test_a_device_intune_does_not_hold_is_intunes_404(graph, tenant):
    token = graph.app_only(tenant, BOTH)
    missing = "00000000-0000-0000-0000-0000000000aa"

    response = graph.call("GET", states_path(missing), token)

    assert response.status_code == 404
    assert error(response)["code"] == "ResourceNotFound"
    inner = intune_inner(response)
    assert f"managedDevices%28%27{missing}%27%29/deviceCompliancePolicyStates" in inner["Message"]


@pytest.mark.parametrize(
    ("roles", "named"),
    [((READ_DEVICES,), READ_CONFIGURATION), ((READ_CONFIGURATION,), READ_DEVICES)],
)
def test_an_app_without_either_intune_read_permission_is_refused_in_intunes_shape(
    graph, tenant, roles, named
):
    """Microsoft documents no permission for this navigation: the simulator asks for the
    managed device's and the policy state's (device configuration) read permission both."""
    token = graph.app_only(tenant, (*roles, "Directory.Read.All"))
    device = devices(graph, tenant)[0]

    response = graph.call("GET", states_path(device["id"]), token)

    assert response.status_code == 403
    assert error(response)["code"] == "Forbidden"
    message = intune_inner(response)["Message"]
    assert message.startswith("Application is not authorized") and named in message


def test_an_agent_without_an_intune_role_is_refused_and_an_intune_administrator_reads(graph):
    l1_tenant = graph.customer(L1, has="Directory Readers", lacks="Intune Administrator")
    held = access.agent_roles(
        graph.ctx.world, graph.ctx.world.agent(L1), l1_tenant, graph.ctx.now()
    )
    assert "Global Reader" not in (held or set())
    device = devices(graph, l1_tenant)[0]

    refused = graph.call("GET", states_path(device["id"]), graph.delegated(l1_tenant, L1, BOTH))
    assert refused.status_code == 403
    assert error(refused)["code"] == "UnknownError"
    intune_inner(refused)

    admin_tenant = graph.customer(AGENT, has="Intune Administrator")
    admin_device = devices(graph, admin_tenant)[0]
    token = graph.delegated(admin_tenant, AGENT, BOTH)
    assert read_states(graph, admin_device["id"], token)


def test_the_states_count_with_intune_device_configuration_not_intune_devices(graph, tenant):
    assert (
        intune_limits.service_of(
            "/graph/v1.0/deviceManagement/managedDevices/x/deviceCompliancePolicyStates"
        )
        == "device_configuration"
    )
    token = graph.app_only(tenant, BOTH)
    device = devices(graph, tenant)[0]
    graph.client.post("/_sim/faults", json={"tenant": tenant.id, "intune_limits": {"any_app": 2}})

    assert graph.call("GET", states_path(device["id"]), token).status_code == 200
    assert (
        graph.call("GET", "v1.0/deviceManagement/deviceCompliancePolicies", token).status_code
        == 200
    )
    throttled = graph.call("GET", states_path(device["id"]), token)

    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    # The device itself is "Intune devices": that service's window still has room.
    device_read = graph.call("GET", f"v1.0/deviceManagement/managedDevices/{device['id']}", token)
    assert device_read.status_code == 200


def test_inside_a_batch_each_policy_states_request_is_counted_on_its_own(graph, tenant):
    token = graph.app_only(tenant, BOTH)
    device = devices(graph, tenant)[0]
    graph.client.post("/_sim/faults", json={"tenant": tenant.id, "intune_limits": {"any_app": 1}})
    url = f"/deviceManagement/managedDevices/{device['id']}/deviceCompliancePolicyStates"
    body = {
        "requests": [
            {"id": "1", "method": "GET", "url": url},
            {"id": "2", "method": "GET", "url": url, "dependsOn": ["1"]},
            {
                "id": "device",
                "method": "GET",
                "url": f"/deviceManagement/managedDevices/{device['id']}",
            },
        ]
    }

    response = graph.call("POST", "v1.0/$batch", token, body)

    assert response.status_code == 200
    status = {r["id"]: r["status"] for r in response.get_json()["responses"]}
    assert status == {"1": 200, "2": 429, "device": 200}


def test_an_android_work_profile_policy_is_android_for_work_on_v1_and_named_on_beta(graph, tenant):
    """v1.0's policyPlatformType has no androidWorkProfile member (msgraph-sdk's v1.0 models
    stop at android, androidForWork, iOS, macOS, windowsPhone81, windows81AndLater,
    windows10AndLater, all); beta has it."""
    token = graph.app_only(tenant, BOTH)
    android = next(d for d in devices(graph, tenant) if d["operatingSystem"] == "Android")

    v1 = read_states(graph, android["id"], token)
    beta = read_states(graph, android["id"], token, version="beta")

    assert [s["platformType"] for s in v1] == ["androidForWork"]
    assert [s["platformType"] for s in beta] == ["androidWorkProfile"]


def test_microsofts_graph_sdk_reads_every_devices_policy_states_into_its_v1_models(cloud):
    customer = cloud.customer()
    token = cloud.token(customer["tenant_id"])
    listed = cloud.get(
        "/v1.0/deviceManagement/managedDevices?$select=id,complianceState", token
    ).json()["value"]

    async def scenario(c: Any) -> list[Any]:
        devices = c.device_management.managed_devices
        return [
            await devices.by_managed_device_id(d["id"]).device_compliance_policy_states.get()
            for d in listed
        ]

    answers = run_sdk(cloud, token, scenario)

    assert unknown_properties(answers) == []
    for device, answer in zip(listed, answers, strict=True):
        assert answer.value, device
        for state in answer.value:
            assert state.platform_type is not None and state.state is not None
            assert state.setting_count == len(state.setting_states or [])
        if device["complianceState"] == "noncompliant":
            assert "nonCompliant" in {s.state.value for s in answer.value}
