"""Directory roles of customer users, and Entra's rule that whose password (and account) an
admin may change depends on the roles that user holds.

# Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-reset-passwords
# Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-perform-sensitive-actions
# Reference: https://learn.microsoft.com/graph/api/directoryrole-list
# Reference: https://learn.microsoft.com/graph/api/user-list-memberof
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator import access, gdap
from simulator.config import SeedConfig
from simulator.context import SimContext
from simulator.graph import directory_roles, entities
from simulator.signing import SigningKeys
from simulator.world import Tenant
from tests.simulator.graph.test_writes import AGENT, ALL_WRITES, L1, STRONG, Graph

READS = (*ALL_WRITES, "Directory.Read.All")
RESET = {"passwordProfile": {"password": STRONG, "forceChangePasswordNextSignIn": True}}


@pytest.fixture(scope="module")
def signing() -> SigningKeys:
    return SigningKeys.generate()


@pytest.fixture
def graph(signing: SigningKeys) -> Graph:
    return Graph(SimContext(config=SeedConfig(), signing=signing))


def _admin(graph: Graph, tenant: Tenant, role: str) -> dict[str, Any]:
    data = entities.data_for(graph.ctx, tenant)
    [index] = [i for i, name in data.role_holders().items() if name == role]
    return entities.user_set(graph.ctx, tenant).item(index)


def _dap_tenant(graph: Graph) -> Tenant:
    return next(
        t
        for t in graph.ctx.world.customers_of(graph.us.partner_tenant_id)
        if t.relationship_type == "dap"
    )


def test_each_customer_lists_its_global_and_user_administrator_as_graph_does(graph):
    tenant = graph.customer(AGENT, has="User Administrator")
    token = graph.delegated(tenant, AGENT, READS)
    roles = graph.call("GET", "v1.0/directoryRoles", token).json["value"]
    assert {r["roleTemplateId"] for r in roles} == {
        gdap.ROLE_IDS["Global Administrator"],
        gdap.ROLE_IDS["User Administrator"],
    }
    by_name = {r["displayName"]: r for r in roles}
    admin = _admin(graph, tenant, "Global Administrator")
    members = graph.call(
        "GET", f"v1.0/directoryRoles/{by_name['Global Administrator']['id']}/members", token
    ).json["value"]
    assert [m["id"] for m in members] == [admin["id"]]
    member_of = graph.call("GET", f"v1.0/users/{admin['id']}/memberOf", token).json["value"]
    assert {
        "@odata.type": "#microsoft.graph.directoryRole",
        **{k: by_name["Global Administrator"][k] for k in ("id", "roleTemplateId")},
    }.items() <= next(m for m in member_of if "roleTemplateId" in m).items()
    groups_only = graph.call(
        "GET", f"v1.0/users/{admin['id']}/memberOf/microsoft.graph.group", token
    ).json["value"]
    assert all(m["@odata.type"] == "#microsoft.graph.group" for m in groups_only)
    # The seeded admins are never the first users (tests and demos pick those).
    assert entities.data_for(graph.ctx, tenant).role_holders().keys().isdisjoint(range(5))


def test_the_seeded_admins_are_in_sim_info_and_fixed_by_the_seed(graph, signing):
    info = graph.client.get("/_sim/").get_json()
    us = next(r for r in info["regions"] if r["slug"] == "us")
    first = us["customers"][0]
    assert sorted(a["role"] for a in first["admins"]) == [
        "Global Administrator",
        "User Administrator",
    ]
    again = Graph(SimContext(config=SeedConfig(), signing=signing)).client.get("/_sim/")
    us_again = next(r for r in again.get_json()["regions"] if r["slug"] == "us")
    assert us_again["customers"][0]["admins"] == first["admins"]


@pytest.mark.parametrize("username", [AGENT, L1])
def test_a_helpdesk_agent_may_not_reset_a_global_administrators_password(graph, username):
    """Helpdesk and User Administrator may not reset a Global Administrator's password
    (only Privileged Authentication and Global Administrators may): Graph's 403."""
    tenant = graph.customer(username, has="Helpdesk Administrator")
    admin = _admin(graph, tenant, "Global Administrator")
    token = graph.delegated(tenant, username, ALL_WRITES)
    response = graph.call("PATCH", f"v1.0/users/{admin['id']}", token, RESET)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "Authorization_RequestDenied"
    assert response.get_json()["error"]["message"] == (
        "Insufficient privileges to complete the operation."
    )
    assert graph.ctx.world.writes.patched(tenant.id, admin["id"]) == {}


def test_a_user_administrators_password_is_reset_by_a_user_administrator_not_by_helpdesk(
    graph,
):
    target_tenant = graph.customer(L1, has="Helpdesk Administrator", lacks="User Administrator")
    admin = _admin(graph, target_tenant, "User Administrator")
    refused = graph.call(
        "PATCH",
        f"v1.0/users/{admin['id']}",
        graph.delegated(target_tenant, L1, ALL_WRITES),
        RESET,
    )
    assert refused.status_code == 403
    agent_roles = access.agent_roles(graph.ctx.world, graph.ctx.world.agent(AGENT), target_tenant)
    assert agent_roles and "User Administrator" in agent_roles
    done = graph.call(
        "PATCH",
        f"v1.0/users/{admin['id']}",
        graph.delegated(target_tenant, AGENT, ALL_WRITES),
        RESET,
    )
    assert done.status_code == 204, done.get_data(as_text=True)


def test_a_user_administrator_may_not_block_a_global_administrator(graph):
    """accountEnabled is a sensitive action: a User Administrator may not perform it on a
    Global Administrator."""
    tenant = graph.customer(AGENT, has="User Administrator")
    admin = _admin(graph, tenant, "Global Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    response = graph.call("PATCH", f"v1.0/users/{admin['id']}", token, {"accountEnabled": False})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "Authorization_RequestDenied"
    assert graph.ctx.world.writes.patched(tenant.id, admin["id"]) == {}
    # The User Administrator next to them is within reach.
    peer = _admin(graph, tenant, "User Administrator")
    blocked = graph.call("PATCH", f"v1.0/users/{peer['id']}", token, {"accountEnabled": False})
    assert blocked.status_code == 204


def test_blocking_a_privileged_user_needs_directory_access_as_user_all_when_delegated(graph):
    """user-update: "To update sensitive user properties, such as accountEnabled ... for users
    with privileged administrator roles ... the app must be assigned the
    Directory.AccessAsUser.All delegated permission" (User Administrator is privileged)."""
    # Reference: https://learn.microsoft.com/graph/api/user-update
    tenant = graph.customer(AGENT, has="User Administrator")
    peer = _admin(graph, tenant, "User Administrator")
    least = graph.delegated(tenant, AGENT, ("User.Read.All", "User.EnableDisableAccount.All"))
    path = f"v1.0/users/{peer['id']}"
    refused = graph.call("PATCH", path, least, {"accountEnabled": False})
    assert refused.status_code == 403
    assert graph.ctx.world.writes.patched(tenant.id, peer["id"]) == {}
    plain_user = graph.first_user(tenant)
    done = graph.call("PATCH", f"v1.0/users/{plain_user['id']}", least, {"accountEnabled": False})
    assert done.status_code == 204  # a user without an admin role: the least permission serves


def test_an_app_without_a_directory_role_may_not_block_a_privileged_user(graph):
    """App-only, "the app must be assigned a higher privileged administrator role as
    indicated in Who can perform sensitive actions"; the simulator's apps hold none."""
    # Reference: https://learn.microsoft.com/graph/api/user-update
    tenant = graph.customer(AGENT, has="User Administrator")
    token = graph.app_only(tenant, ("User.ReadWrite.All",))
    for role in ("Global Administrator", "User Administrator"):
        admin = _admin(graph, tenant, role)
        response = graph.call(
            "PATCH", f"v1.0/users/{admin['id']}", token, {"accountEnabled": False}
        )
        assert response.status_code == 403, role
    plain_user = graph.first_user(tenant)
    done = graph.call("PATCH", f"v1.0/users/{plain_user['id']}", token, {"accountEnabled": False})
    assert done.status_code == 204


def test_revoking_a_global_administrators_sessions_is_refused_to_a_helpdesk_agent(graph):
    """The table's columns "reset passwords and invalidate refresh tokens": the same rule."""
    tenant = graph.customer(AGENT, has="Helpdesk Administrator")
    admin = _admin(graph, tenant, "Global Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    response = graph.call("POST", f"v1.0/users/{admin['id']}/revokeSignInSessions", token)
    assert response.status_code == 403
    assert graph.ctx.world.writes.patched(tenant.id, admin["id"]) == {}


def test_a_global_administrator_through_dap_resets_an_admins_password(graph):
    tenant = _dap_tenant(graph)
    admin = _admin(graph, tenant, "Global Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    response = graph.call("PATCH", f"v1.0/users/{admin['id']}", token, RESET)
    assert response.status_code == 204, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("caller", "target", "allowed"),
    [
        ("Password Administrator", "Helpdesk Administrator", False),
        ("Helpdesk Administrator", "Helpdesk Administrator", True),
        ("Helpdesk Administrator", "User Administrator", False),
        ("User Administrator", "Groups Administrator", True),
        ("User Administrator", "Privileged Role Administrator", False),
        ("Authentication Administrator", "Authentication Administrator", True),
        ("Privileged Authentication Administrator", "Global Administrator", True),
        ("Helpdesk Administrator", "Intune Administrator", False),  # "all other roles"
    ],
)
def test_the_reset_table_is_microsofts(caller, target, allowed):
    held = frozenset({caller})
    assert directory_roles.may_act(held, frozenset({target}), directory_roles.RESET_PASSWORD) is (
        allowed
    )
    assert directory_roles.may_act(held, frozenset(), directory_roles.RESET_PASSWORD)
