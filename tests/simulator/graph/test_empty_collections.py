"""A tenant without devices: $select is checked against the entity type, not against the
first item (there is none), so a valid $select is a 200 with an empty value and an unknown
property is Graph's 400 either way."""

from __future__ import annotations

import pytest

from .conftest import SimClient, graph_error

# Reference: https://learn.microsoft.com/graph/query-parameters#select ($select picks
#   properties of the resource type; an unknown one is 400 "Could not find a property")
# Reference: https://learn.microsoft.com/graph/api/resources/device
# Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice
# Reference: https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-devicecompliancepolicy
COLLECTIONS = [
    ("/v1.0/devices", "id,displayName,operatingSystem,trustType", "microsoft.graph.device"),
    (
        "/v1.0/deviceManagement/managedDevices",
        "id,deviceName,complianceState,lastSyncDateTime",
        "microsoft.graph.managedDevice",
    ),
]


@pytest.fixture
def deviceless(cloud: SimClient) -> tuple[SimClient, str]:
    customer = cloud.customer()
    resized = cloud.sim.size(customer["tenant_id"], devices=0)
    assert resized["devices"] == 0 and resized["users"] == customer["users"]
    return cloud, cloud.token(customer["tenant_id"])


@pytest.mark.parametrize(("path", "select", "entity_type"), COLLECTIONS)
def test_a_valid_select_on_an_empty_collection_is_an_empty_200(
    deviceless, path, select, entity_type
):
    cloud, token = deviceless
    response = cloud.get(f"{path}?$select={select}", token)
    assert response.status_code == 200, response.text
    assert response.json()["value"] == []
    assert response.json()["@odata.context"].endswith(f"({select})")


@pytest.mark.parametrize("empty", [True, False])
@pytest.mark.parametrize(("path", "select", "entity_type"), COLLECTIONS)
def test_an_unknown_property_in_select_is_a_400_with_or_without_items(
    cloud, path, select, entity_type, empty
):
    customer = cloud.customer()
    if empty:
        cloud.sim.size(customer["tenant_id"], devices=0)
    response = cloud.get(f"{path}?$select=id,favouriteColour", cloud.token(customer["tenant_id"]))
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == "Request_BadRequest"
    assert error["message"] == (
        f"Could not find a property named 'favouriteColour' on type '{entity_type}'."
    )


def test_compliance_policies_check_select_against_the_policy_type(cloud):
    token = cloud.token(cloud.customer()["tenant_id"])
    ok = cloud.get("/v1.0/deviceManagement/deviceCompliancePolicies?$select=id,version", token)
    assert ok.status_code == 200 and ok.json()["value"]
    refused = cloud.get("/v1.0/deviceManagement/deviceCompliancePolicies?$select=nope", token)
    assert refused.status_code == 400


def test_the_size_control_refuses_what_is_not_a_count(cloud):
    from tests.simharness import SimulatorError

    with pytest.raises(SimulatorError, match="devices must be a whole number"):
        cloud.sim.size(cloud.customer()["tenant_id"], devices=-1)
