"""GDAP in the partner tenant: relationships, access assignments, GDAP customers and the
partner's security groups, served only with DelegatedAdminRelationship.Read.All."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from tests.simharness import Simulator

from .conftest import PARTNER_CENTER, SimClient, graph_error

RELATIONSHIPS = "/v1.0/tenantRelationships/delegatedAdminRelationships"
CUSTOMERS = "/v1.0/tenantRelationships/delegatedAdminCustomers"
INTUNE_ADMIN = "3a2c62db-5318-420d-8d74-23affee5d9d5"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"


@pytest.fixture
def cloud(sim: Simulator) -> SimClient:
    """The default world (8 customers per region, reset after each test): every case."""
    return SimClient(sim)


@pytest.fixture
def partner_token(cloud: SimClient) -> str:
    return cloud.token(cloud.us["partner_tenant_id"])


def of_type(cloud: SimClient, kind: str) -> list[dict[str, Any]]:
    return [c for c in cloud.us["customers"] if c["relationship"]["type"] == kind]


def relationship_of(cloud: SimClient, token: str, tenant_id: str) -> dict[str, Any]:
    path = f"{RELATIONSHIPS}?$filter=customer/tenantId eq '{tenant_id}'"
    [rel] = cloud.get(path, token).json()["value"]
    return rel


# ----- the permission -------------------------------------------------------------------
# Reference: https://learn.microsoft.com/graph/api/tenantrelationship-list-delegatedadminrelationships
# Reference: https://learn.microsoft.com/graph/api/delegatedadminrelationship-get
# Reference: https://learn.microsoft.com/graph/api/delegatedadminrelationship-list-accessassignments
# Reference: https://learn.microsoft.com/graph/api/tenantrelationship-list-delegatedadmincustomers
def test_directory_read_all_does_not_open_the_gdap_endpoints(cloud, partner_token):
    some_id = cloud.get(RELATIONSHIPS, partner_token).json()["value"][0]["id"]
    directory_only = cloud.mint(cloud.us["partner_tenant_id"], roles=["Directory.Read.All"])
    for path in (
        RELATIONSHIPS,
        CUSTOMERS,
        f"{RELATIONSHIPS}/{some_id}",
        f"{RELATIONSHIPS}/{some_id}/accessAssignments",
    ):
        response = cloud.get(path, directory_only)
        assert response.status_code == 403, path
        assert graph_error(response)["code"] == "Authorization_RequestDenied"


def test_either_delegated_admin_relationship_permission_opens_them(cloud):
    for role in ("DelegatedAdminRelationship.Read.All", "DelegatedAdminRelationship.ReadWrite.All"):
        token = cloud.mint(cloud.us["partner_tenant_id"], roles=[role])
        assert cloud.get(RELATIONSHIPS, token).status_code == 200
        assert cloud.get(CUSTOMERS, token).status_code == 200


def test_the_partner_app_holds_the_permission_in_its_own_tenant_only(cloud):
    partner = jwt.decode(
        cloud.token(cloud.us["partner_tenant_id"]), options={"verify_signature": False}
    )
    customer = jwt.decode(
        cloud.token(cloud.customer()["tenant_id"]), options={"verify_signature": False}
    )
    assert "DelegatedAdminRelationship.Read.All" in partner["roles"]
    assert "DelegatedAdminRelationship.Read.All" not in customer["roles"]


# ----- relationships as Microsoft documents them ------------------------------------------
def test_each_relationship_has_the_documented_properties(cloud, partner_token):
    rel = cloud.get(RELATIONSHIPS, partner_token).json()["value"][0]
    assert rel["@odata.type"] == "#microsoft.graph.delegatedAdminRelationship"
    assert rel["@odata.etag"].startswith('W/"')
    for key in (
        "id",
        "displayName",
        "duration",
        "customer",
        "accessDetails",
        "status",
        "autoExtendDuration",
        "createdDateTime",
        "activatedDateTime",
        "lastModifiedDateTime",
        "endDateTime",
    ):
        assert key in rel, key
    assert set(rel["customer"]) == {"tenantId", "displayName"}
    assert {"roleDefinitionId": DIRECTORY_READERS} in rel["accessDetails"]["unifiedRoles"]


def test_a_dap_only_customer_has_no_gdap_relationship_but_a_contract(cloud, partner_token):
    [dap] = of_type(cloud, "dap")
    rels = cloud.get(RELATIONSHIPS, partner_token).json()["value"]
    customers = cloud.get(CUSTOMERS, partner_token).json()["value"]
    contracts = cloud.get("/v1.0/contracts", partner_token).json()["value"]
    assert dap["tenant_id"] not in {r["customer"]["tenantId"] for r in rels}
    assert dap["tenant_id"] not in {c["tenantId"] for c in customers}
    assert dap["tenant_id"] in {c["customerId"] for c in contracts}
    assert dap["relationship"]["status"] == "active" and dap["relationship"]["roles"] == []


def test_the_mlt_relationship_is_named_mlt_with_the_fixed_roles(cloud, partner_token):
    [mlt] = of_type(cloud, "mlt")
    rel = relationship_of(cloud, partner_token, mlt["tenant_id"])
    assert rel["displayName"].startswith("MLT_")
    assert INTUNE_ADMIN not in {r["roleDefinitionId"] for r in rel["accessDetails"]["unifiedRoles"]}
    assert len(rel["accessDetails"]["unifiedRoles"]) == 8


def test_one_relationship_expires_within_30_days_without_auto_extend(cloud, partner_token):
    rels = cloud.get(RELATIONSHIPS + "?$filter=status eq 'active'", partner_token).json()["value"]
    soon = datetime.now(UTC) + timedelta(days=30)
    expiring = [r for r in rels if datetime.fromisoformat(r["endDateTime"]) < soon]
    assert len(expiring) == 1
    assert expiring[0]["autoExtendDuration"] == "PT0S"
    assert {r["autoExtendDuration"] for r in rels} == {"P180D", "PT0S"}


def test_status_filter_returns_the_expired_one(cloud, partner_token):
    rels = cloud.get(RELATIONSHIPS + "?$filter=status eq 'expired'", partner_token).json()["value"]
    expired = [
        c["tenant_id"] for c in cloud.us["customers"] if c["relationship"]["status"] == "expired"
    ]
    assert [r["customer"]["tenantId"] for r in rels] == expired


def test_an_unsupported_filter_is_a_bad_request(cloud, partner_token):
    for clause in ("startswith(displayName,'MLT_')", "endDateTime gt 2026-01-01T00:00:00Z"):
        response = cloud.get(f"{RELATIONSHIPS}?$filter={clause}", partner_token)
        assert response.status_code == 400, clause


def test_top_is_capped_at_300_and_pages_follow_next_links(cloud, partner_token):
    assert cloud.get(f"{RELATIONSHIPS}?$top=301", partner_token).status_code == 400
    every = cloud.get(RELATIONSHIPS, partner_token).json()["value"]
    url, paged = f"{RELATIONSHIPS}?$top=2", []
    while url:
        body = cloud.get(url, partner_token).json()
        assert len(body["value"]) <= 2
        paged += body["value"]
        url = body.get("@odata.nextLink")
    assert [r["id"] for r in paged] == [r["id"] for r in every]


def test_one_relationship_by_id_and_an_unknown_id_is_a_404(cloud, partner_token):
    rel = cloud.get(RELATIONSHIPS, partner_token).json()["value"][0]
    one = cloud.get(f"{RELATIONSHIPS}/{rel['id']}", partner_token).json()
    assert one["id"] == rel["id"] and one["customer"] == rel["customer"]
    response = cloud.get(f"{RELATIONSHIPS}/{rel['id'][:-4]}0000", partner_token)
    assert response.status_code == 404
    assert graph_error(response)["code"] == "Request_ResourceNotFound"


# ----- access assignments and partner security groups ----------------------------------
def _groups(cloud: SimClient) -> dict[str, dict[str, Any]]:
    return {g["name"]: g for g in cloud.us["groups"]}


def test_access_assignments_name_partner_groups_with_roles_of_the_relationship(
    cloud, partner_token
):
    groups = _groups(cloud)
    first = cloud.us["customers"][0]
    rel = relationship_of(cloud, partner_token, first["tenant_id"])
    body = cloud.get(f"{RELATIONSHIPS}/{rel['id']}/accessAssignments", partner_token).json()
    rel_roles = {r["roleDefinitionId"] for r in rel["accessDetails"]["unifiedRoles"]}
    by_group = {}
    for a in body["value"]:
        assert a["@odata.type"] == "#microsoft.graph.delegatedAdminAccessAssignment"
        assert a["status"] == "active"
        assert a["accessContainer"]["accessContainerType"] == "securityGroup"
        roles = {r["roleDefinitionId"] for r in a["accessDetails"]["unifiedRoles"]}
        assert roles <= rel_roles
        by_group[a["accessContainer"]["accessContainerId"]] = roles
    assert INTUNE_ADMIN in by_group[groups["Helpdesk agents"]["id"]]
    assert INTUNE_ADMIN not in by_group[groups["L1 no Intune"]["id"]]


def test_the_partner_groups_are_listed_with_their_agent_members(cloud, partner_token):
    groups = _groups(cloud)
    path = "/v1.0/groups?$filter=displayName eq 'L1 no Intune'"
    [l1] = cloud.get(path, partner_token).json()["value"]
    assert l1["id"] == groups["L1 no Intune"]["id"] and l1["securityEnabled"] is True
    members = cloud.get(f"/v1.0/groups/{l1['id']}/members", partner_token).json()["value"]
    assert [m["userPrincipalName"] for m in members] == ["l1@contosopartners.com"]
    names = {g["displayName"] for g in cloud.get("/v1.0/groups", partner_token).json()["value"]}
    assert {"AdminAgents", "Helpdesk agents", "L1 no Intune"} <= names


def test_the_sim_document_matches_what_graph_serves(cloud, partner_token):
    helpdesk = _groups(cloud)["Helpdesk agents"]
    gdap_customers = [c["tenant_id"] for c in cloud.us["customers"] if c["relationship"]["roles"]]
    assert set(helpdesk["roles_by_customer"]) == set(gdap_customers)
    agents = {a["username"]: a for a in cloud.info["agents"]}
    assert agents["agent@contosopartners.com"]["groups"] == ["Helpdesk agents"]
    assert agents["l1@contosopartners.com"]["groups"] == ["L1 no Intune"]


def _created_customer(cloud: SimClient) -> str:
    from .test_graph_access import _new_customer  # the Partner Center body the tests share

    pc = cloud.token(cloud.us["partner_tenant_id"], PARTNER_CENTER)
    created = cloud.session.post(
        f"{cloud.partner_center}/v1/customers",
        json=_new_customer(f"assign{len(cloud.sim.info()['regions'][0]['customers'])}"),
        headers={"Authorization": f"Bearer {pc}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _assignment_body(group_id: str, *role_ids: str) -> dict[str, Any]:
    return {
        "accessContainer": {"accessContainerId": group_id, "accessContainerType": "securityGroup"},
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in role_ids]},
    }


def test_an_access_assignment_is_pending_then_gives_the_group_its_roles(cloud, partner_token):
    """Reference: https://learn.microsoft.com/graph/api/delegatedadminrelationship-post-accessassignments
    (201; status pending until it is active; ReadWrite.All, application permission allowed)."""
    cloud.sim.faults(propagation_delay=1)
    tenant = _created_customer(cloud)
    time.sleep(1.1)  # the relationship itself has propagated
    rel = relationship_of(cloud, partner_token, tenant)
    helpdesk = next(g for g in cloud.us["groups"] if g["name"] == "Helpdesk agents")
    path = f"{RELATIONSHIPS}/{rel['id']}/accessAssignments"
    created = cloud.post(path, partner_token, _assignment_body(helpdesk["id"], DIRECTORY_READERS))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending"
    time.sleep(1.1)
    [listed] = cloud.get(path, partner_token).json()["value"]
    assert listed["status"] == "active"
    roles = next(g for g in cloud.sim.info()["regions"][0]["groups"] if g["id"] == helpdesk["id"])
    assert roles["roles_by_customer"][tenant] == ["Directory Readers"]


def test_an_access_assignment_is_refused_what_graph_refuses(cloud, partner_token):
    cloud.sim.faults(propagation_delay=0)
    tenant = _created_customer(cloud)
    rel = relationship_of(cloud, partner_token, tenant)
    path = f"{RELATIONSHIPS}/{rel['id']}/accessAssignments"
    helpdesk = next(g for g in cloud.us["groups"] if g["name"] == "Helpdesk agents")
    # A role the relationship does not have (created customers: no Intune Administrator).
    assert (
        cloud.post(path, partner_token, _assignment_body(helpdesk["id"], INTUNE_ADMIN)).status_code
        == 400
    )
    # Not a partner security group.
    stranger = "00000000-0000-0000-0000-0000000000aa"
    assert (
        cloud.post(path, partner_token, _assignment_body(stranger, DIRECTORY_READERS)).status_code
        == 400
    )
    ok = cloud.post(path, partner_token, _assignment_body(helpdesk["id"], DIRECTORY_READERS))
    assert ok.status_code == 201
    again = cloud.post(path, partner_token, _assignment_body(helpdesk["id"], DIRECTORY_READERS))
    assert again.status_code == 409
    # Read.All only: the write is refused.
    read_only = cloud.mint(
        cloud.us["partner_tenant_id"], roles=["DelegatedAdminRelationship.Read.All"]
    )
    refused = cloud.post(path, read_only, _assignment_body(helpdesk["id"], DIRECTORY_READERS))
    assert refused.status_code == 403
    assert graph_error(refused)["code"] == "Authorization_RequestDenied"


def test_another_partners_relationship_is_a_404_even_once_looked_up_by_its_own_partner(
    cloud, partner_token
):
    """Graph serves a partner its own relationships only; the simulator's index of them
    (rebuilt on a miss) must not hand one partner another's.
    # Reference: https://learn.microsoft.com/graph/api/delegatedadminrelationship-get
    """
    eu = next(r for r in cloud.info["regions"] if r["slug"] == "eu")
    response = cloud.session.post(
        f"{cloud.sim.base_url}/{eu['partner_tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": eu["app"]["client_id"],
            "client_secret": eu["app"]["client_secret"],
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    eu_token = response.json()["access_token"]
    theirs = cloud.get(RELATIONSHIPS, eu_token).json()["value"][0]
    assert cloud.get(f"{RELATIONSHIPS}/{theirs['id']}", eu_token).status_code == 200

    for path in (
        f"{RELATIONSHIPS}/{theirs['id']}",
        f"{RELATIONSHIPS}/{theirs['id']}/accessAssignments",
    ):
        refused = cloud.get(path, partner_token)
        assert refused.status_code == 404, path
        assert graph_error(refused)["code"] == "Request_ResourceNotFound"
