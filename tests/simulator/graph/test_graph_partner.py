"""Partner-tenant Graph: relationships, contracts, and the AdminAgents preconsent steps."""

from __future__ import annotations

import pytest

from .conftest import SimClient, graph_error


@pytest.fixture
def partner_token(cloud: SimClient) -> str:
    return cloud.token(cloud.us["partner_tenant_id"])


def test_delegated_admin_relationships_follow_the_partners_customers(cloud, partner_token):
    body = cloud.get("/v1.0/tenantRelationships/delegatedAdminRelationships", partner_token).json()
    statuses = {r["customer"]["tenantId"]: r["status"] for r in body["value"]}
    # A DAP-only customer has no GDAP relationship: it is absent here.
    expected = {
        c["tenant_id"]: c["relationship"]["status"]
        for c in cloud.us["customers"]
        if c["relationship"]["type"] != "dap"
    }
    assert statuses == expected
    first = body["value"][0]
    assert first["accessDetails"]["unifiedRoles"] and first["duration"] == "P730D"


def test_delegated_admin_customers_lists_the_active_ones_and_caps_top_at_300(cloud, partner_token):
    path = "/v1.0/tenantRelationships/delegatedAdminCustomers"
    body = cloud.get(path, partner_token).json()
    active = {
        c["tenant_id"]
        for c in cloud.us["customers"]
        if c["relationship"]["status"] == "active" and c["relationship"]["type"] != "dap"
    }
    assert {c["tenantId"] for c in body["value"]} == active
    assert cloud.get(f"{path}?$top=301", partner_token).status_code == 400


def test_contracts_name_each_customer_with_its_default_domain(cloud, partner_token):
    contracts = cloud.get("/v1.0/contracts", partner_token).json()["value"]
    domains = {c["customerId"]: c["defaultDomainName"] for c in contracts}
    assert domains == {c["tenant_id"]: c["domain"] for c in cloud.us["customers"]}


def test_a_customer_tenant_has_no_relationships_of_its_own(cloud):
    token = cloud.mint(cloud.customer()["tenant_id"], roles=["DelegatedAdminRelationship.Read.All"])
    path = "/v1.0/tenantRelationships/delegatedAdminRelationships"
    assert cloud.get(path, token).json()["value"] == []


def test_the_preconsent_lookups_find_admin_agents_and_the_apps_service_principal(
    cloud, partner_token
):
    groups = cloud.get("/v1.0/groups?$filter=displayName eq 'AdminAgents'", partner_token).json()[
        "value"
    ]
    assert [g["displayName"] for g in groups] == ["AdminAgents"]
    app_id = cloud.us["app"]["client_id"]
    sps = cloud.get(f"/v1.0/servicePrincipals?$filter=appId eq '{app_id}'", partner_token).json()[
        "value"
    ]
    assert [sp["id"] for sp in sps] == [cloud.us["app"]["sp_object_id"]]
    members = cloud.get(f"/v1.0/groups/{groups[0]['id']}/members", partner_token).json()
    assert cloud.us["app"]["sp_object_id"] in {m["id"] for m in members["value"]}


def _admin_agents(cloud: SimClient, token: str) -> str:
    path = "/v1.0/groups?$filter=displayName eq 'AdminAgents'"
    return cloud.get(path, token).json()["value"][0]["id"]


def test_adding_a_member_needs_a_write_permission(cloud, partner_token):
    group = _admin_agents(cloud, partner_token)
    ref = {
        "@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{cloud.us['app']['sp_object_id']}"
    }
    response = cloud.post(f"/v1.0/groups/{group}/members/$ref", partner_token, ref)
    assert response.status_code == 403
    assert graph_error(response)["code"] == "Authorization_RequestDenied"


def test_adding_a_member_answers_204_then_400_when_already_a_member(cloud, partner_token):
    writer = cloud.mint(cloud.us["partner_tenant_id"], roles=["GroupMember.ReadWrite.All"])
    group = _admin_agents(cloud, partner_token)
    members = cloud.get(f"/v1.0/groups/{group}/members", partner_token).json()["value"]
    users = cloud.get("/v1.0/users", partner_token).json()["value"]
    outsider = next(u for u in users if u["id"] not in {m["id"] for m in members})
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{outsider['id']}"}
    first = cloud.post(f"/v1.0/groups/{group}/members/$ref", writer, ref)
    assert first.status_code == 204
    again = cloud.post(f"/v1.0/groups/{group}/members/$ref", writer, ref)
    assert again.status_code == 400
    assert graph_error(again)["code"] == "Request_BadRequest"
    after = cloud.get(f"/v1.0/groups/{group}/members", partner_token).json()["value"]
    assert outsider["id"] in {m["id"] for m in after}
