"""Partner Center /v1/customers: list with continuation, create, idempotency, errors."""

from __future__ import annotations

import uuid

import pytest

from .conftest import GRAPH, PARTNER_CENTER, SimClient


@pytest.fixture
def pc_token(cloud: SimClient) -> str:
    return cloud.token(cloud.us["partner_tenant_id"], PARTNER_CENTER)


def pc_get(cloud: SimClient, token: str, path: str, **headers: str):
    sent = {"Authorization": f"Bearer {token}", **headers}
    return cloud.session.get(f"{cloud.partner_center}{path}", headers=sent, timeout=10)


def pc_create(cloud: SimClient, token: str, body: dict, request_id: str | None = None):
    headers = {"Authorization": f"Bearer {token}", "MS-RequestId": request_id or str(uuid.uuid4())}
    return cloud.session.post(
        f"{cloud.partner_center}/v1/customers", json=body, headers=headers, timeout=10
    )


def new_customer(prefix: str) -> dict:
    # PascalCase as in Microsoft's samples: Partner Center binds JSON case-insensitively.
    return {
        "CompanyProfile": {"Domain": f"{prefix}.onmicrosoft.com"},
        "BillingProfile": {
            "Culture": "en-US",
            "Email": f"it@{prefix}.example",
            "Language": "en",
            "CompanyName": f"{prefix.title()} Ltd",
            "DefaultAddress": {
                "FirstName": "Grace",
                "LastName": "Hopper",
                "AddressLine1": "1 Main Street",
                "City": "Seattle",
                "State": "WA",
                "PostalCode": "98101",
                "Country": "US",
                "PhoneNumber": "4255550100",
            },
        },
    }


def test_listing_follows_continuation_tokens_to_every_customer(cloud, pc_token):
    path, headers, seen = "/v1/customers?size=2", {}, []
    while True:
        body = pc_get(cloud, pc_token, path, **headers).json()
        seen += body["items"]
        nxt = body["links"].get("next")
        if not nxt:
            break
        assert nxt["method"] == "GET" and nxt["uri"].startswith("/customers?size=2")
        path = "/v1" + nxt["uri"]
        headers = {h["key"]: h["value"] for h in nxt["headers"]}
    assert [c["id"] for c in seen] == [c["tenant_id"] for c in cloud.us["customers"]]
    first = seen[0]
    assert first["relationshipToPartner"] == "reseller"
    assert first["companyProfile"]["tenantId"] == first["id"]
    assert first["companyProfile"]["domain"] == cloud.us["customers"][0]["domain"]


def test_a_tampered_continuation_token_is_a_bad_request(cloud, pc_token):
    response = pc_get(
        cloud, pc_token, "/v1/customers?size=2&seekOperation=Next", **{"MS-ContinuationToken": "x"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"code", "description", "data", "source"}


def test_creating_a_customer_returns_its_tenant_and_admin_credentials(cloud, pc_token):
    response = pc_create(cloud, pc_token, new_customer("newco"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["companyProfile"]["domain"] == "newco.onmicrosoft.com"
    assert body["companyProfile"]["tenantId"] == body["id"]
    assert body["userCredentials"]["userName"] == "admin"  # the bare name, as documented
    assert len(body["userCredentials"]["password"]) >= 8
    assert body["billingProfile"]["defaultAddress"]["city"] == "Seattle"
    listed = {c["tenant_id"] for c in cloud.sim.info()["regions"][0]["customers"]}
    assert body["id"] in listed


def test_resending_with_the_same_request_id_returns_the_same_customer(cloud, pc_token):
    request_id = str(uuid.uuid4())
    first = pc_create(cloud, pc_token, new_customer("retryco"), request_id).json()
    second = pc_create(cloud, pc_token, new_customer("retryco"), request_id)
    assert second.status_code == 201
    assert second.json()["id"] == first["id"]
    assert second.json()["userCredentials"] == first["userCredentials"]


def test_a_taken_domain_is_a_conflict_not_a_second_tenant(cloud, pc_token):
    taken = cloud.us["customers"][0]["domain"].removesuffix(".onmicrosoft.com")
    before = len(cloud.sim.info()["regions"][0]["customers"])
    response = pc_create(cloud, pc_token, new_customer(taken))
    assert response.status_code == 409
    assert response.json() == {
        "code": 1001,
        "description": "Domain already exists",
        "data": [],
        "source": "PartnerFD",
    }
    assert len(cloud.sim.info()["regions"][0]["customers"]) == before


def test_missing_fields_are_a_bad_request_that_names_the_field(cloud, pc_token):
    body = new_customer("halfco")
    del body["BillingProfile"]["Email"]
    response = pc_create(cloud, pc_token, body)
    assert response.status_code == 400
    assert "Email" in response.json()["description"]


def test_a_graph_token_is_not_accepted(cloud):
    graph_token = cloud.token(cloud.us["partner_tenant_id"], GRAPH)
    assert pc_get(cloud, graph_token, "/v1/customers").status_code == 401


def test_a_customer_tenant_token_is_forbidden(cloud):
    token = cloud.token(cloud.customer()["tenant_id"], PARTNER_CENTER)
    assert pc_get(cloud, token, "/v1/customers").status_code == 403


def test_a_new_customers_relationship_is_activating_until_it_propagates(cloud, pc_token):
    created = pc_create(cloud, pc_token, new_customer("slowco")).json()
    graph_token = cloud.token(cloud.us["partner_tenant_id"], GRAPH)
    body = cloud.get("/v1.0/tenantRelationships/delegatedAdminRelationships", graph_token).json()
    status = {r["customer"]["tenantId"]: r["status"] for r in body["value"]}
    assert status[created["id"]] == "activating"


# Reference: https://learn.microsoft.com/en-us/partner-center/developer/create-a-customer
# (Microsoft's sample builds CompanyProfile.Domain as prefix + ".onmicrosoft.com")
def test_a_bare_domain_prefix_is_refused_like_an_invalid_field(cloud, pc_token):
    body = new_customer("bareco")
    body["CompanyProfile"]["Domain"] = "bareco"
    before = len(cloud.sim.info()["regions"][0]["customers"])
    response = pc_create(cloud, pc_token, body)
    assert response.status_code == 400
    error = response.json()
    assert set(error) == {"code", "description", "data", "source"}
    assert error["code"] == 2000 and "onmicrosoft.com" in error["description"]
    assert len(cloud.sim.info()["regions"][0]["customers"]) == before


def test_another_domain_suffix_is_refused_too(cloud, pc_token):
    body = new_customer("otherco")
    body["CompanyProfile"]["Domain"] = "otherco.com"
    assert pc_create(cloud, pc_token, body).status_code == 400


def test_a_created_customer_has_a_default_gdap_relationship_and_no_consent(cloud, pc_token):
    created = pc_create(cloud, pc_token, new_customer("freshco")).json()
    assert created["companyProfile"]["domain"] == "freshco.onmicrosoft.com"
    info = next(
        c for c in cloud.sim.info()["regions"][0]["customers"] if c["tenant_id"] == created["id"]
    )
    defaults = cloud.sim._call("GET", "/_sim/gdap/default-roles")["roles"]
    assert info["relationship"]["type"] == "gdap"
    assert info["relationship"]["roles"] == defaults
    assert info["app_consent"] == {"consented": False, "scopes": [], "app_roles": []}


def test_the_default_gdap_roles_of_new_customers_follow_the_control(cloud, pc_token):
    cloud.sim._call("POST", "/_sim/gdap/default-roles", {"roles": ["Directory Readers"]})
    created = pc_create(cloud, pc_token, new_customer("narrowco")).json()
    graph_token = cloud.token(cloud.us["partner_tenant_id"], GRAPH)
    path = "/v1.0/tenantRelationships/delegatedAdminRelationships"
    query = f"{path}?$filter=customer/tenantId eq '{created['id']}'"
    [rel] = cloud.get(query, graph_token).json()["value"]
    assert rel["accessDetails"]["unifiedRoles"] == [
        {"roleDefinitionId": "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"}
    ]


def test_delegated_admin_access_is_told_only_by_id_and_only_for_dap_customers(cloud, pc_token):
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/customer-resources
    # ("allowDelegatedAccess … is only available when getting a customer by ID, not by list").
    listed = pc_get(cloud, pc_token, "/v1/customers?size=50").json()["items"]
    assert listed and all("allowDelegatedAccess" not in c for c in listed)
    assert any(c["relationship"]["type"] == "dap" for c in cloud.us["customers"])
    for info in cloud.us["customers"]:
        customer = pc_get(cloud, pc_token, f"/v1/customers/{info['tenant_id']}").json()
        dap = info["relationship"]["type"] in ("dap", "gdap+dap")
        assert customer["allowDelegatedAccess"] is dap, info["relationship"]
