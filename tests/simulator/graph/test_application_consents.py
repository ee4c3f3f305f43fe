"""Partner Center's application consent (the Control Panel Vendor API), as Microsoft runs it:
an App+User token of an AdminAgents agent who holds a consent role in the customer through
GDAP; the partner's own multi-tenant app; Microsoft Graph's delegated permissions; effective
once propagated; a second consent is refused; delete removes the service principal.

Reference: https://learn.microsoft.com/partner-center/developer/control-panel-vendor-apis
Reference: https://learn.microsoft.com/powershell/partnercenter/exchange-online-gdap-app
Reference: https://learn.microsoft.com/answers/questions/1006761/partner-centre-api
Reference: https://learn.microsoft.com/partner-center/developer/error-codes
"""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from simulator.partnercenter import consents
from tests.simharness import Simulator

from .conftest import PARTNER_CENTER, SimClient, graph_error
from .consenting import (
    ADMIN,
    ASSIGN_SCOPES,
    CONSENT_SCOPES,
    GRAPH_APP,
    NOROLE,
    client_credentials,
    consent,
    consent_body,
    consents_url,
    customer_info,
    delegated,
    delegated_token,
    error_codes,
    of_type,
    pc,
    pc_user_token,
    unconsented_gdap,
)


@pytest.fixture
def cloud(sim: Simulator) -> SimClient:
    """The default world (every relationship case), reset after each test."""
    return SimClient(sim)


@pytest.fixture
def admin_pc(cloud: SimClient) -> str:
    return pc_user_token(cloud, ADMIN)


def pc_error(code: int, description: str) -> dict:
    return {"code": code, "description": description, "data": [], "source": "PartnerFD"}


def test_an_admin_agent_consents_the_partner_app_and_gets_the_consent_back(cloud, admin_pc):
    tenant = unconsented_gdap(cloud)

    created = consent(cloud, tenant, admin_pc)

    assert created.status_code == 201, created.text
    assert created.json() == {
        "applicationId": cloud.us["app"]["client_id"],
        "displayName": cloud.us["app"]["display_name"],
        "applicationGrants": [
            {"enterpriseApplicationId": GRAPH_APP, "scope": ",".join(CONSENT_SCOPES)}
        ],
        "attributes": {"objectType": "ApplicationConsent"},
    }
    assert created.headers["MS-RequestId"] and created.headers["MS-CorrelationId"]
    assert customer_info(cloud, tenant)["app_consent"] == {
        "consented": True,
        "scopes": list(CONSENT_SCOPES),
        "app_roles": [],
    }


def test_the_display_name_sent_is_the_one_partner_center_shows(cloud, admin_pc):
    tenant = unconsented_gdap(cloud)
    body = {**consent_body(cloud), "displayName": "CPV Web App"}

    assert consent(cloud, tenant, admin_pc, body).json()["displayName"] == "CPV Web App"


def test_the_consent_takes_effect_only_after_the_propagation_delay(cloud, admin_pc):
    cloud.sim.faults(propagation_delay=1)
    tenant = unconsented_gdap(cloud)
    assert consent(cloud, tenant, admin_pc).status_code == 201

    # Until it has propagated, Entra answers as if there were no consent at all.
    early = delegated(cloud, ADMIN, tenant, ["https://graph.microsoft.com/.default"])
    assert 65001 in error_codes(early) and early.get("suberror") == "consent_required"
    assert 700016 in error_codes(client_credentials(cloud, tenant))

    time.sleep(1.2)
    token = delegated_token(cloud, ADMIN, tenant)
    assert set(jwt.decode(token, options={"verify_signature": False})["scp"].split()) == set(
        CONSENT_SCOPES
    )
    assert cloud.get("/v1.0/users?$top=1", token).status_code == 200
    # The service principal exists, with delegated grants only: a token without roles.
    roleless = client_credentials(cloud, tenant)["access_token"]
    # Entra omits a claim without a value: no `roles` at all.
    assert "roles" not in jwt.decode(roleless, options={"verify_signature": False})
    assert graph_error(cloud.get("/v1.0/users?$top=1", roleless))["code"] == (
        "Authorization_RequestDenied"
    )


def test_the_scopes_that_assign_app_roles_can_be_asked_for_once_consented(cloud, admin_pc):
    # The app registers Application.Read.All and AppRoleAssignment.ReadWrite.All; a tenant
    # grants them only through a consent that names them.
    cloud.sim.faults(propagation_delay=0)
    wanted = [f"https://graph.microsoft.com/{s}" for s in ASSIGN_SCOPES]
    seeded = of_type(cloud, "gdap")  # consented with the read scopes only
    refused = delegated(cloud, ADMIN, seeded, wanted)
    assert 65001 in error_codes(refused) and refused["suberror"] == "consent_required"

    tenant = unconsented_gdap(cloud)
    assert consent(cloud, tenant, admin_pc).status_code == 201
    token = delegated_token(cloud, ADMIN, tenant, wanted)

    assert set(jwt.decode(token, options={"verify_signature": False})["scp"].split()) == set(
        ASSIGN_SCOPES
    )


def test_scopes_are_kept_in_graphs_spelling_and_once_each(cloud, admin_pc):
    tenant = unconsented_gdap(cloud)
    body = consent_body(cloud)
    body["applicationGrants"][0]["scope"] = "user.read.all, User.Read.All,DIRECTORY.READ.ALL,"

    created = consent(cloud, tenant, admin_pc, body)

    assert created.json()["applicationGrants"][0]["scope"] == "User.Read.All,Directory.Read.All"


def test_an_app_only_token_is_refused_as_partner_center_refuses_it(cloud):
    tenant = unconsented_gdap(cloud)
    app_only = cloud.token(cloud.us["partner_tenant_id"], PARTNER_CENTER)

    for method, url, body in (
        ("POST", consents_url(cloud, tenant), consent_body(cloud)),
        ("GET", consents_url(cloud, tenant), None),
        ("DELETE", f"{consents_url(cloud, tenant)}/{cloud.us['app']['client_id']}", None),
    ):
        refused = pc(cloud, method, url, app_only, body)
        assert refused.status_code == 403, method
        assert refused.json() == pc_error(403, consents.APP_ONLY)
    assert customer_info(cloud, tenant)["app_consent"]["consented"] is False


def test_an_agent_outside_admin_agents_is_refused(cloud):
    tenant = unconsented_gdap(cloud)

    refused = consent(cloud, tenant, pc_user_token(cloud, NOROLE))

    assert refused.status_code == 403
    assert refused.json() == pc_error(403, consents.NOT_AUTHORIZED)


def test_an_admin_agent_without_a_consent_role_in_the_customer_is_refused(cloud):
    # AdminAgents alone is not enough under GDAP: "Helpdesk agents" holds no Cloud
    # Application / Privileged Role Administrator in the customer.
    tenant = unconsented_gdap(cloud)
    cloud.sim.agent_groups(ADMIN, ["Helpdesk agents"])

    refused = consent(cloud, tenant, pc_user_token(cloud, ADMIN))

    assert refused.status_code == 403
    assert refused.json()["description"] == consents.NOT_AUTHORIZED
    assert customer_info(cloud, tenant)["app_consent"]["consented"] is False


def test_a_customer_whose_relationship_expired_is_refused(cloud, admin_pc):
    tenant = of_type(cloud, "gdap", status="expired")
    cloud.sim.consent(tenant, consented=False)

    refused = consent(cloud, tenant, admin_pc)

    assert refused.status_code == 403
    assert refused.json()["description"] == consents.NOT_AUTHORIZED


def test_a_dap_customer_is_consented_by_an_admin_agent_in_no_gdap_group(cloud):
    # DAP makes AdminAgents Global Administrators of the customer.
    tenant = of_type(cloud, "dap")
    cloud.sim.consent(tenant, consented=False)
    cloud.sim.agent_groups(ADMIN, [])

    assert consent(cloud, tenant, pc_user_token(cloud, ADMIN)).status_code == 201


def test_another_partners_customer_and_an_unknown_tenant_are_not_found(cloud, admin_pc):
    eu = next(r for r in cloud.info["regions"] if r["slug"] == "eu")
    for tenant in (eu["customers"][0]["tenant_id"], str(uuid.uuid4())):
        answer = consent(cloud, tenant, admin_pc)
        assert answer.status_code == 404, tenant
        assert answer.json() == pc_error(600026, "Customer not found.")


def test_only_the_partners_own_multi_tenant_app_can_be_consented(cloud, admin_pc):
    tenant = unconsented_gdap(cloud)
    eu = next(r for r in cloud.info["regions"] if r["slug"] == "eu")
    for app_id in (eu["app"]["client_id"], str(uuid.uuid4()), ""):
        body = {**consent_body(cloud), "applicationId": app_id}
        refused = consent(cloud, tenant, admin_pc, body)
        assert refused.status_code == 400, app_id
        assert refused.json()["code"] == consents.INVALID
    cloud.sim._call("POST", "/_sim/regions/us/app", {"multi_tenant": False})
    single = consent(cloud, tenant, admin_pc)
    assert single.status_code == 400 and "multi-tenant" in single.json()["description"]
    assert customer_info(cloud, tenant)["app_consent"]["consented"] is False


AAD_GRAPH = "00000002-0000-0000-c000-000000000000"  # retired Azure AD Graph


def grant(resource: str, scope: str) -> dict:
    return {"enterpriseApplicationId": resource, "scope": scope}


@pytest.mark.parametrize(
    ("grants", "named"),
    [
        ([grant(GRAPH_APP, "User.Read.All,Mail.Sudo.All")], "Mail.Sudo.All"),
        ([grant(AAD_GRAPH, "User.Read")], AAD_GRAPH),
        ([grant(GRAPH_APP, " , ")], "no scope"),
        ([], "ApplicationGrants"),
        (None, "ApplicationGrants"),
    ],
)
def test_grants_must_name_microsoft_graphs_delegated_permissions(cloud, admin_pc, grants, named):
    tenant = unconsented_gdap(cloud)
    body = {**consent_body(cloud), "applicationGrants": grants}

    refused = consent(cloud, tenant, admin_pc, body)

    assert refused.status_code == 400
    assert named in refused.json()["description"]
    assert customer_info(cloud, tenant)["app_consent"]["consented"] is False


def test_a_body_that_is_not_a_consent_is_a_bad_request(cloud, admin_pc):
    tenant = unconsented_gdap(cloud)
    raw = cloud.session.post(
        consents_url(cloud, tenant),
        data="{not json",
        headers={"Authorization": f"Bearer {admin_pc}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert raw.status_code == 400
    assert consent(cloud, tenant, admin_pc, ["a list"]).status_code == 400


def test_a_second_consent_is_a_conflict_and_changes_nothing(cloud, admin_pc):
    tenant = of_type(cloud, "gdap")  # seeded: consented, with its app roles
    before = customer_info(cloud, tenant)["app_consent"]

    again = consent(cloud, tenant, admin_pc)

    assert again.status_code == 409
    assert again.json() == pc_error(409, consents.ALREADY_EXISTS)
    assert customer_info(cloud, tenant)["app_consent"] == before


def test_a_resent_request_with_the_same_request_id_gets_the_same_answer(cloud, admin_pc):
    tenant = unconsented_gdap(cloud)
    request_id = str(uuid.uuid4())

    first = consent(cloud, tenant, admin_pc, **{"MS-RequestId": request_id})
    second = consent(cloud, tenant, admin_pc, **{"MS-RequestId": request_id})
    other = consent(cloud, tenant, admin_pc, **{"MS-RequestId": str(uuid.uuid4())})

    assert (first.status_code, second.status_code, other.status_code) == (201, 201, 409)
    assert second.json() == first.json()


def test_the_list_is_partner_centers_collection_of_the_consent(cloud, admin_pc):
    consented = of_type(cloud, "gdap")
    listed = pc(cloud, "GET", consents_url(cloud, consented), admin_pc)
    assert listed.status_code == 200
    body = listed.json()
    assert set(body) == {"totalCount", "items", "attributes"}
    assert body["totalCount"] == 1 and body["attributes"] == {"objectType": "Collection"}
    [item] = body["items"]
    assert item["applicationId"] == cloud.us["app"]["client_id"]
    assert item["applicationGrants"][0]["enterpriseApplicationId"] == GRAPH_APP

    none = pc(cloud, "GET", consents_url(cloud, unconsented_gdap(cloud)), admin_pc).json()
    assert (none["totalCount"], none["items"]) == (0, [])


def test_deleting_the_consent_removes_the_service_principal(cloud, admin_pc):
    tenant = of_type(cloud, "gdap")
    app_id = cloud.us["app"]["client_id"]
    assert client_credentials(cloud, tenant).get("access_token")

    gone = pc(cloud, "DELETE", f"{consents_url(cloud, tenant)}/{app_id}", admin_pc)

    assert gone.status_code == 204 and gone.content == b""
    assert customer_info(cloud, tenant)["app_consent"] == {
        "consented": False,
        "scopes": [],
        "app_roles": [],
    }
    assert 700016 in error_codes(client_credentials(cloud, tenant))
    assert 65001 in error_codes(
        delegated(cloud, ADMIN, tenant, ["https://graph.microsoft.com/.default"])
    )
    again = pc(cloud, "DELETE", f"{consents_url(cloud, tenant)}/{app_id}", admin_pc)
    assert again.status_code == 404
    assert again.json() == pc_error(404, consents.CONSENT_NOT_FOUND)


def test_deleting_another_apps_consent_is_not_found(cloud, admin_pc):
    tenant = of_type(cloud, "gdap")

    answer = pc(cloud, "DELETE", f"{consents_url(cloud, tenant)}/{uuid.uuid4()}", admin_pc)

    assert answer.status_code == 404
    assert customer_info(cloud, tenant)["app_consent"]["consented"] is True


def test_the_consent_sent_appears_in_the_request_log_with_its_body(cloud, admin_pc):
    tenant = unconsented_gdap(cloud)
    body = {**consent_body(cloud), "displayName": "Portal"}
    consent(cloud, tenant, admin_pc, body)

    [entry] = [
        r
        for r in cloud.sim.requests()["requests"]
        if r["kind"] == "partnercenter" and r["method"] == "POST"
    ]

    assert entry["path"] == f"/partnercenter/v1/customers/{tenant}/applicationconsents"
    assert entry["status"] == 201 and entry["tenant"] == cloud.us["partner_tenant_id"]
    assert entry["body"] == body


def test_partner_center_writes_are_logged_without_passwords(cloud):
    token = cloud.token(cloud.us["partner_tenant_id"], PARTNER_CENTER)
    sent = {"companyProfile": {"domain": "x"}, "userCredentials": {"password": "s3cret"}}
    pc(cloud, "POST", f"{cloud.partner_center}/v1/customers", token, sent)

    logged = cloud.sim.requests()["requests"]
    [entry] = [r for r in logged if r["kind"] == "partnercenter" and r["method"] == "POST"]

    assert entry["status"] == 400  # an invalid customer: logged all the same
    assert entry["body"] == {"companyProfile": {"domain": "x"}, "userCredentials": {}}
    assert all("body" not in r for r in logged if r["kind"] != "partnercenter")
