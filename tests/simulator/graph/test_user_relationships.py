"""A user's groups, registered devices and licences: what Graph answers, and what it refuses
(no permission for the objects listed, no Entra role in the customer, an unknown user).

# Reference: https://learn.microsoft.com/graph/api/user-list-memberof
# Reference: https://learn.microsoft.com/graph/api/user-list-registereddevices
# Reference: https://learn.microsoft.com/graph/api/user-list-licensedetails
# Reference: https://learn.microsoft.com/graph/permissions-reference (Directory.Read.All reads
#   every directory object; User.Read.All alone does not read groups or devices)
"""

from __future__ import annotations

import pytest

from simulator import access
from simulator.config import SeedConfig
from simulator.context import SimContext
from simulator.signing import SigningKeys
from simulator.world import Tenant
from tests.simulator.graph.test_writes import AGENT, Graph

READ_ALL = ("Directory.Read.All",)


@pytest.fixture(scope="module")
def keys() -> SigningKeys:
    return SigningKeys.generate()


@pytest.fixture
def graph(keys: SigningKeys) -> Graph:
    """The simulator's Graph in process (tests/simulator/graph/test_writes.py's harness)."""
    return Graph(SimContext(config=SeedConfig(), signing=keys))


PATHS = ("memberOf", "memberOf/microsoft.graph.group", "registeredDevices", "licenseDetails")


def _customer(graph: Graph) -> Tenant:
    return graph.customer(AGENT, has="Directory Readers")


def _member_and_group(graph: Graph, tenant: Tenant) -> tuple[str, str]:
    token = graph.app_only(tenant, READ_ALL)
    group = graph.call("GET", "v1.0/groups?$top=1&$select=id", token).get_json()["value"][0]
    members = graph.call("GET", f"v1.0/groups/{group['id']}/members", token).get_json()["value"]
    return members[0]["id"], group["id"]


def test_a_users_groups_are_the_groups_that_list_the_user_as_a_member(graph):
    tenant = _customer(graph)
    user_id, group_id = _member_and_group(graph, tenant)
    token = graph.app_only(tenant, READ_ALL)
    for path in ("memberOf", "memberOf/microsoft.graph.group"):
        answer = graph.call("GET", f"v1.0/users/{user_id}/{path}", token)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert group_id in {g["id"] for g in answer.get_json()["value"]}


def test_a_users_registered_devices_are_the_devices_intune_names_them_owner_of(graph):
    tenant = _customer(graph)
    device = graph.first_device(tenant)
    token = graph.app_only(tenant, READ_ALL)
    answer = graph.call("GET", f"v1.0/users/{device['userId']}/registeredDevices", token)
    assert answer.status_code == 200
    assert device["azureADDeviceId"] in {d["deviceId"] for d in answer.get_json()["value"]}


def test_licence_details_of_a_user_without_licences_are_an_empty_list(graph):
    tenant = _customer(graph)
    token = graph.app_only(tenant, READ_ALL)
    user = graph.first_user(tenant)
    answer = graph.call("GET", f"v1.0/users/{user['id']}/licenseDetails", token)
    assert answer.status_code == 200 and answer.get_json()["value"] == []


@pytest.mark.parametrize(
    ("path", "roles"),
    [
        ("memberOf", ("User.Read.All",)),  # the user, but not their groups
        ("memberOf", ("GroupMember.Read.All",)),  # groups, but not the user
        ("registeredDevices", ("User.Read.All",)),  # the user, but not devices
        ("registeredDevices", ("Device.Read.All",)),  # devices, but not the user
        ("licenseDetails", ("Device.Read.All",)),
    ],
)
def test_a_token_without_a_read_permission_for_both_sides_is_refused(graph, path, roles):
    tenant = _customer(graph)
    user = graph.first_user(tenant)
    answer = graph.call("GET", f"v1.0/users/{user['id']}/{path}", graph.app_only(tenant, roles))
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "Authorization_RequestDenied"


@pytest.mark.parametrize("path", PATHS)
def test_an_agent_without_an_entra_role_in_the_customer_is_refused(graph, path):
    agent = graph.ctx.world.agent(AGENT)
    tenant = next(
        t
        for t in graph.ctx.world.customers_of(graph.us.partner_tenant_id)
        if not access.agent_roles(graph.ctx.world, agent, t, graph.ctx.now())
    )
    user = graph.first_user(tenant)
    token = graph.delegated(tenant, AGENT, ("Directory.Read.All",))
    answer = graph.call("GET", f"v1.0/users/{user['id']}/{path}", token)
    assert answer.status_code == 403


@pytest.mark.parametrize("path", PATHS)
def test_an_unknown_user_is_a_404(graph, path):
    tenant = _customer(graph)
    answer = graph.call(
        "GET",
        f"v1.0/users/00000000-0000-0000-0000-0000000000aa/{path}",
        graph.app_only(tenant, READ_ALL),
    )
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "Request_ResourceNotFound"


def test_an_empty_licence_list_still_checks_select_against_the_entity_type(graph):
    """An empty collection validates $select against licenseDetails, not against its (no)
    items: a property the type lacks is Graph's 400.
    # Reference: https://learn.microsoft.com/graph/api/resources/licensedetails"""
    tenant = _customer(graph)
    user = graph.first_user(tenant)
    token = graph.app_only(tenant, READ_ALL)
    good = graph.call("GET", f"v1.0/users/{user['id']}/licenseDetails?$select=skuPartNumber", token)
    bad = graph.call("GET", f"v1.0/users/{user['id']}/licenseDetails?$select=nope", token)
    assert good.status_code == 200
    assert bad.status_code == 400
