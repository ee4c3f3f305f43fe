"""Service principals in a customer tenant and the app's Graph app roles, as Microsoft Graph
serves them: Graph's own service principal everywhere with its appRoles; the partner app's
only where it was consented; its appRoleAssignments; and appRoleAssignedTo, which needs
AppRoleAssignment.ReadWrite.All and Application.Read.All, and Privileged Role Administrator
for the signed-in admin.

Reference: https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto
Reference: https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments
Reference: https://learn.microsoft.com/graph/api/serviceprincipal-get
Reference: https://learn.microsoft.com/graph/permissions-reference
Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/delegate-by-task#enterprise-applications
Reference: https://github.com/microsoftgraph/microsoft-graph-docs/issues/12833
"""

from __future__ import annotations

import uuid

import jwt
import pytest

from simulator.graph import service_principals
from tests.simharness import Simulator

from .conftest import SimClient, graph_error
from .consenting import (
    ADMIN,
    AGENT,
    APP_ROLE_IDS,
    GRAPH_APP,
    agent_oid,
    client_credentials,
    customer_info,
    of_type,
    unconsented_gdap,
)

BOTH = "AppRoleAssignment.ReadWrite.All Application.Read.All"


@pytest.fixture
def cloud(sim: Simulator) -> SimClient:
    return SimClient(sim)


def as_agent(cloud: SimClient, tenant: str, username: str, scp: str) -> str:
    """A delegated token of the agent at `tenant` with exactly these scopes (the agent's
    GDAP roles there are still checked on every call)."""
    return cloud.mint(tenant, idtyp="user", oid=agent_oid(cloud, username), scp=scp)


def reader(cloud: SimClient, tenant: str) -> str:
    """A delegated token that may read service principals (Directory Readers there)."""
    return as_agent(cloud, tenant, AGENT, "Application.Read.All")


def sps(cloud: SimClient, tenant: str) -> tuple[dict, dict]:
    """(Microsoft Graph's service principal, the partner app's) in a consented tenant."""
    token = reader(cloud, tenant)
    [mine] = app_sps(cloud, tenant, token)
    return graph_sp(cloud, tenant, token), mine


def graph_sp(cloud: SimClient, tenant: str, token: str) -> dict:
    [sp] = cloud.get(f"/v1.0/servicePrincipals?$filter=appId eq '{GRAPH_APP}'", token).json()[
        "value"
    ]
    return sp


def app_sps(cloud: SimClient, tenant: str, token: str) -> list[dict]:
    app_id = cloud.us["app"]["client_id"]
    path = f"/v1.0/servicePrincipals?$filter=appId eq '{app_id}'"
    return cloud.get(path, token).json()["value"]


def without_app_roles(cloud: SimClient) -> str:
    """A seeded GDAP customer consented with the delegated grants but no app role yet."""
    tenant = of_type(cloud, "gdap")
    cloud.sim.consent(tenant, consented=True, app_roles=[])
    return tenant


def assign(cloud: SimClient, token: str, resource: str, principal: str, role_id: str):
    body = {"principalId": principal, "resourceId": resource, "appRoleId": role_id}
    return cloud.post(f"/v1.0/servicePrincipals/{resource}/appRoleAssignedTo", token, body)


def test_graphs_service_principal_is_in_every_tenant_with_microsofts_app_role_ids(cloud):
    for tenant in (cloud.us["partner_tenant_id"], of_type(cloud, "gdap")):
        sp = graph_sp(cloud, tenant, cloud.token(tenant))
        roles = {r["value"]: r for r in sp["appRoles"]}
        assert {name: roles[name]["id"] for name in APP_ROLE_IDS} == APP_ROLE_IDS
        assert all(r["allowedMemberTypes"] == ["Application"] for r in roles.values())
        assert sp["displayName"] == "Microsoft Graph" and sp["appId"] == GRAPH_APP


def test_a_service_principal_is_addressed_by_its_app_id_too(cloud):
    tenant = of_type(cloud, "gdap")
    token = cloud.token(tenant)
    by_filter = graph_sp(cloud, tenant, token)

    by_app_id = cloud.get(f"/v1.0/servicePrincipals(appId='{GRAPH_APP}')", token)
    by_id = cloud.get(f"/v1.0/servicePrincipals/{by_filter['id']}?$select=id,appRoles", token)

    assert by_app_id.status_code == 200 and by_app_id.json()["id"] == by_filter["id"]
    assert by_id.json()["appRoles"] == by_filter["appRoles"]
    missing = cloud.get(f"/v1.0/servicePrincipals(appId='{uuid.uuid4()}')", token)
    assert missing.status_code == 404
    assert graph_error(missing)["code"] == "Request_ResourceNotFound"


def test_the_apps_service_principal_is_absent_where_it_was_never_consented(cloud):
    tenant = unconsented_gdap(cloud)
    token = as_agent(cloud, tenant, AGENT, "Application.Read.All")

    assert app_sps(cloud, tenant, token) == []
    assert graph_sp(cloud, tenant, token)["appRoles"]


def test_the_apps_service_principal_id_is_the_oid_of_its_tokens(cloud):
    tenant = of_type(cloud, "gdap")
    token = cloud.token(tenant)

    [mine] = app_sps(cloud, tenant, token)

    assert mine["id"] == jwt.decode(token, options={"verify_signature": False})["oid"]
    assert mine["appOwnerOrganizationId"] == cloud.us["partner_tenant_id"]


def test_a_seeded_customer_lists_the_apps_graph_app_roles(cloud):
    tenant = of_type(cloud, "gdap")
    token = cloud.token(tenant)
    graph, [mine] = graph_sp(cloud, tenant, token), app_sps(cloud, tenant, token)

    held = cloud.get(f"/v1.0/servicePrincipals/{mine['id']}/appRoleAssignments", token).json()
    granted = cloud.get(f"/v1.0/servicePrincipals/{graph['id']}/appRoleAssignedTo", token).json()

    assert {a["appRoleId"] for a in held["value"]} == set(APP_ROLE_IDS.values())
    for a in held["value"]:
        assert (a["principalId"], a["resourceId"]) == (mine["id"], graph["id"])
        assert a["principalType"] == "ServicePrincipal" and a["resourceDisplayName"] == (
            "Microsoft Graph"
        )
        assert len(a["id"]) == 43  # Graph's base64url assignment ids
    assert granted["value"] == held["value"]
    nothing = cloud.get(f"/v1.0/servicePrincipals/{graph['id']}/appRoleAssignments", token)
    assert nothing.json()["value"] == []


def test_reading_assignments_needs_application_read_all(cloud):
    tenant = of_type(cloud, "gdap")
    _, mine = sps(cloud, tenant)
    token = as_agent(cloud, tenant, AGENT, "User.Read.All")

    refused = cloud.get(f"/v1.0/servicePrincipals/{mine['id']}/appRoleAssignments", token)

    assert refused.status_code == 403
    assert graph_error(refused)["code"] == "Authorization_RequestDenied"


@pytest.mark.parametrize("scp", ["Application.Read.All", "AppRoleAssignment.ReadWrite.All"])
def test_assigning_needs_approleassignment_readwrite_all_and_application_read_all(cloud, scp):
    tenant = without_app_roles(cloud)
    graph, mine = sps(cloud, tenant)

    refused = assign(
        cloud,
        as_agent(cloud, tenant, ADMIN, scp),
        graph["id"],
        mine["id"],
        APP_ROLE_IDS["User.Read.All"],
    )

    assert refused.status_code == 403
    assert graph_error(refused)["code"] == "Authorization_RequestDenied"
    assert customer_info(cloud, tenant)["app_consent"]["app_roles"] == []


def test_assigning_needs_privileged_role_administrator_in_the_customer(cloud):
    tenant = without_app_roles(cloud)
    graph, mine = sps(cloud, tenant)
    role = APP_ROLE_IDS["User.Read.All"]

    # "Helpdesk agents" hold no Privileged Role Administrator there.
    plain = assign(cloud, as_agent(cloud, tenant, AGENT, BOTH), graph["id"], mine["id"], role)
    assert plain.status_code == 403
    # Cloud Application Administrator alone may not grant Microsoft Graph's app roles.
    roles = customer_info(cloud, tenant)["relationship"]["roles"]
    cloud.sim.relationship(tenant, roles=[r for r in roles if r != "Privileged Role Administrator"])
    cloud_admin = assign(cloud, as_agent(cloud, tenant, ADMIN, BOTH), graph["id"], mine["id"], role)
    assert cloud_admin.status_code == 403
    assert graph_error(cloud_admin)["code"] == "Authorization_RequestDenied"
    assert customer_info(cloud, tenant)["app_consent"]["app_roles"] == []


def test_an_assigned_role_lands_in_the_consent_and_client_credentials_carry_it(cloud):
    tenant = without_app_roles(cloud)
    graph, mine = sps(cloud, tenant)
    admin = as_agent(cloud, tenant, ADMIN, BOTH)

    created = assign(cloud, admin, graph["id"], mine["id"], APP_ROLE_IDS["User.Read.All"])

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["@odata.context"].endswith(
        f"$metadata#servicePrincipals('{graph['id']}')/appRoleAssignedTo/$entity"
    )
    assert (body["principalId"], body["resourceId"], body["appRoleId"]) == (
        mine["id"],
        graph["id"],
        APP_ROLE_IDS["User.Read.All"],
    )
    assert customer_info(cloud, tenant)["app_consent"]["app_roles"] == ["User.Read.All"]
    token = client_credentials(cloud, tenant)["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["User.Read.All"]
    assert cloud.get("/v1.0/users?$top=1", token).status_code == 200
    listed = cloud.get(f"/v1.0/servicePrincipals/{mine['id']}/appRoleAssignments", admin).json()
    assert [a["id"] for a in listed["value"]] == [body["id"]]


def test_assigning_by_the_resources_app_id_works_the_same(cloud):
    tenant = without_app_roles(cloud)
    graph, mine = sps(cloud, tenant)
    body = {
        "principalId": mine["id"],
        "resourceId": graph["id"],
        "appRoleId": APP_ROLE_IDS["Group.Read.All"],
    }

    path = f"/v1.0/servicePrincipals(appId='{GRAPH_APP}')/appRoleAssignedTo"
    created = cloud.post(path, as_agent(cloud, tenant, ADMIN, BOTH), body)

    assert created.status_code == 201, created.text
    assert customer_info(cloud, tenant)["app_consent"]["app_roles"] == ["Group.Read.All"]


def test_a_role_the_app_already_holds_is_graphs_400(cloud):
    tenant = of_type(cloud, "gdap")  # seeded with every app role
    graph, mine = sps(cloud, tenant)

    again = assign(
        cloud,
        as_agent(cloud, tenant, ADMIN, BOTH),
        graph["id"],
        mine["id"],
        APP_ROLE_IDS["User.Read.All"],
    )

    assert again.status_code == 400
    error = graph_error(again)
    assert error["code"] == "Request_BadRequest"
    assert error["message"] == service_principals.ALREADY_ASSIGNED


def test_an_app_role_the_resource_does_not_define_is_a_bad_request(cloud):
    tenant = without_app_roles(cloud)
    graph, mine = sps(cloud, tenant)
    admin = as_agent(cloud, tenant, ADMIN, BOTH)

    unknown = assign(cloud, admin, graph["id"], mine["id"], str(uuid.uuid4()))
    # A delegated permission's id is not an app role either.
    delegated_id = assign(
        cloud, admin, graph["id"], mine["id"], "a154be20-db9c-4678-8ab7-66f6cc099a59"
    )

    for refused in (unknown, delegated_id):
        assert refused.status_code == 400
        assert graph_error(refused)["message"].startswith(service_principals.ROLE_NOT_FOUND)
    assert customer_info(cloud, tenant)["app_consent"]["app_roles"] == []


def test_the_resource_named_in_the_body_must_be_the_one_addressed(cloud):
    tenant = without_app_roles(cloud)
    graph, mine = sps(cloud, tenant)
    body = {
        "principalId": mine["id"],
        "resourceId": mine["id"],
        "appRoleId": APP_ROLE_IDS["User.Read.All"],
    }

    refused = cloud.post(
        f"/v1.0/servicePrincipals/{graph['id']}/appRoleAssignedTo",
        as_agent(cloud, tenant, ADMIN, BOTH),
        body,
    )

    assert refused.status_code == 400
    assert graph_error(refused)["code"] == "Request_BadRequest"


def test_a_principal_or_resource_that_is_not_there_is_not_found(cloud):
    tenant = without_app_roles(cloud)
    graph, _ = sps(cloud, tenant)
    admin = as_agent(cloud, tenant, ADMIN, BOTH)
    role = APP_ROLE_IDS["User.Read.All"]

    no_principal = assign(cloud, admin, graph["id"], str(uuid.uuid4()), role)
    nowhere = str(uuid.uuid4())
    no_resource = assign(cloud, admin, nowhere, str(uuid.uuid4()), role)

    for refused in (no_principal, no_resource):
        assert refused.status_code == 404
        assert graph_error(refused)["code"] == "Request_ResourceNotFound"


def test_a_body_without_the_three_ids_is_a_bad_request(cloud):
    tenant = without_app_roles(cloud)
    graph, _ = sps(cloud, tenant)

    refused = cloud.post(
        f"/v1.0/servicePrincipals/{graph['id']}/appRoleAssignedTo",
        as_agent(cloud, tenant, ADMIN, BOTH),
        {"appRoleId": APP_ROLE_IDS["User.Read.All"]},
    )

    assert refused.status_code == 400
