"""App consent in a customer, as Microsoft does it: Partner Center's application consent
(App+User token of an AdminAgents agent) creates the app's service principal and delegated
grants once propagated; an admin with Privileged Role Administrator then assigns its Graph
app roles; only then do client credentials carry roles.

Reference: https://learn.microsoft.com/partner-center/developer/control-panel-vendor-apis
Reference: https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto
"""

from __future__ import annotations

import time
from typing import Any

import msal
import pytest

from tests.simharness import Simulator

from .conftest import PARTNER_CENTER, SimClient, graph_error
from .test_graph_delegated import msal_app, sign_in

ADMIN = "admin@contosopartners.com"
AGENT = "agent@contosopartners.com"
GRAPH_APP = "00000003-0000-0000-c000-000000000000"
CONSENT_SCOPES = (
    "User.Read.All,Group.Read.All,Device.Read.All,Directory.Read.All,"
    "DeviceManagementManagedDevices.Read.All,DeviceManagementConfiguration.Read.All,"
    "Application.Read.All,AppRoleAssignment.ReadWrite.All"
)


@pytest.fixture
def cloud(sim: Simulator) -> SimClient:
    return SimClient(sim)


def _delegated(cloud: SimClient, username: str, tenant: str, scopes: list[str]) -> dict[str, Any]:
    cache = sign_in(cloud, username)
    app = msal_app(cloud, tenant, cache)
    result = app.acquire_token_silent_with_error(scopes, account=app.get_accounts(username)[0])
    assert result is not None
    return result


def _pc_user_token(cloud: SimClient, username: str = ADMIN) -> str:
    answer = _delegated(
        cloud, username, cloud.us["partner_tenant_id"], [f"{PARTNER_CENTER}/user_impersonation"]
    )
    assert "access_token" in answer, answer
    return answer["access_token"]


def _consents(cloud: SimClient, tenant: str) -> str:
    return f"{cloud.partner_center}/v1/customers/{tenant}/applicationconsents"


def _consent(cloud: SimClient, tenant: str, token: str) -> Any:
    body = {
        "applicationId": cloud.us["app"]["client_id"],
        "applicationGrants": [{"enterpriseApplicationId": GRAPH_APP, "scope": CONSENT_SCOPES}],
    }
    return cloud.session.post(
        _consents(cloud, tenant),
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def _client_credentials(cloud: SimClient, tenant: str) -> dict[str, Any]:
    app = cloud.us["app"]
    client = msal.ConfidentialClientApplication(
        app["client_id"],
        client_credential=app["client_secret"],
        authority=f"{cloud.sim.base_url}/{tenant}",
        instance_discovery=False,
        http_client=cloud.sim.new_session(),
    )
    return client.acquire_token_for_client(["https://graph.microsoft.com/.default"])


def _unconsented_gdap(cloud: SimClient) -> str:
    tenant = next(
        c["tenant_id"]
        for c in cloud.us["customers"]
        if c["relationship"]["type"] == "gdap" and c["relationship"]["status"] == "active"
    )
    cloud.sim.consent(tenant, consented=False)
    return tenant


def test_consent_then_app_roles_make_client_credentials_work(cloud):
    cloud.sim.faults(propagation_delay=1)
    tenant = _unconsented_gdap(cloud)
    assert 700016 in _client_credentials(cloud, tenant)["error_codes"]
    created = _consent(cloud, tenant, _pc_user_token(cloud))
    assert created.status_code == 201, created.text
    assert created.json()["applicationId"] == cloud.us["app"]["client_id"]
    # Not yet propagated: Entra still does not know the app there.
    assert 700016 in _client_credentials(cloud, tenant)["error_codes"]
    time.sleep(1.2)
    # The service principal exists, without app roles: a token Graph refuses.
    roleless = _client_credentials(cloud, tenant)["access_token"]
    assert cloud.get("/v1.0/users?$top=1", roleless).status_code == 403
    # The admin (Portal admins: Privileged Role Administrator there) assigns the app roles.
    admin = _delegated(cloud, ADMIN, tenant, ["https://graph.microsoft.com/.default"])
    token = admin["access_token"]
    graph = cloud.get(f"/v1.0/servicePrincipals?$filter=appId eq '{GRAPH_APP}'", token).json()
    [graph_sp] = graph["value"]
    app_id = cloud.us["app"]["client_id"]
    [app_sp] = cloud.get(f"/v1.0/servicePrincipals?$filter=appId eq '{app_id}'", token).json()[
        "value"
    ]
    assert (
        cloud.get(f"/v1.0/servicePrincipals/{app_sp['id']}/appRoleAssignments", token).json()[
            "value"
        ]
        == []
    )
    roles = {r["value"]: r["id"] for r in graph_sp["appRoles"]}
    for name in ("User.Read.All", "DeviceManagementManagedDevices.Read.All"):
        body = {"principalId": app_sp["id"], "resourceId": graph_sp["id"], "appRoleId": roles[name]}
        answer = cloud.post(
            f"/v1.0/servicePrincipals/{graph_sp['id']}/appRoleAssignedTo", token, body
        )
        assert answer.status_code == 201, answer.text
    again = cloud.post(f"/v1.0/servicePrincipals/{graph_sp['id']}/appRoleAssignedTo", token, body)
    assert again.status_code == 400
    assert "already exists" in graph_error(again)["message"]
    fresh = _client_credentials(cloud, tenant)["access_token"]
    assert cloud.get("/v1.0/users?$top=1", fresh).status_code == 200
    assert cloud.get("/v1.0/deviceManagement/managedDevices?$top=1", fresh).status_code == 200
    listed = cloud.session.get(
        _consents(cloud, tenant),
        headers={"Authorization": f"Bearer {_pc_user_token(cloud)}"},
        timeout=10,
    ).json()
    assert listed["totalCount"] == 1
    assert "AppRoleAssignment.ReadWrite.All" in listed["items"][0]["applicationGrants"][0]["scope"]


def test_partner_center_refuses_app_only_tokens_and_agents_outside_admin_agents(cloud):
    tenant = _unconsented_gdap(cloud)
    app_only = cloud.token(cloud.us["partner_tenant_id"], PARTNER_CENTER)
    refused = _consent(cloud, tenant, app_only)
    assert refused.status_code == 403 and "App+User" in refused.json()["description"]
    norole = _delegated(
        cloud,
        "norole@contosopartners.com",
        cloud.us["partner_tenant_id"],
        [f"{PARTNER_CENTER}/user_impersonation"],
    )
    if "access_token" in norole:  # a user without a portal role is no admin agent
        assert _consent(cloud, tenant, norole["access_token"]).status_code == 403
    assert cloud.sim.info()["regions"][0]["customers"]  # the world is intact
    assert not next(
        c for c in cloud.sim.info()["regions"][0]["customers"] if c["tenant_id"] == tenant
    )["app_consent"]["consented"]


def test_consent_requests_partner_center_refuses(cloud):
    tenant = _unconsented_gdap(cloud)
    token = _pc_user_token(cloud)
    headers = {"Authorization": f"Bearer {token}"}
    other_app = {
        "applicationId": "11111111-2222-3333-4444-555555555555",
        "applicationGrants": [{"enterpriseApplicationId": GRAPH_APP, "scope": "User.Read.All"}],
    }
    assert (
        cloud.session.post(
            _consents(cloud, tenant), json=other_app, headers=headers, timeout=10
        ).status_code
        == 400
    )
    bad_scope = {
        "applicationId": cloud.us["app"]["client_id"],
        "applicationGrants": [{"enterpriseApplicationId": GRAPH_APP, "scope": "Mail.Sudo.All"}],
    }
    assert (
        cloud.session.post(
            _consents(cloud, tenant), json=bad_scope, headers=headers, timeout=10
        ).status_code
        == 400
    )
    assert _consent(cloud, tenant, token).status_code == 201
    assert _consent(cloud, tenant, token).status_code == 409  # already consented
    unknown = cloud.session.post(
        _consents(cloud, "00000000-0000-0000-0000-000000000001"),
        json=other_app,
        headers=headers,
        timeout=10,
    )
    assert unknown.status_code == 404
    gone = cloud.session.delete(
        f"{_consents(cloud, tenant)}/{cloud.us['app']['client_id']}", headers=headers, timeout=10
    )
    assert gone.status_code == 204
    assert 700016 in _client_credentials(cloud, tenant)["error_codes"]
    again = cloud.session.delete(
        f"{_consents(cloud, tenant)}/{cloud.us['app']['client_id']}", headers=headers, timeout=10
    )
    assert again.status_code == 404


def test_assigning_app_roles_needs_privileged_role_administrator(cloud):
    tenant = _unconsented_gdap(cloud)
    cloud.sim.faults(propagation_delay=0)
    assert _consent(cloud, tenant, _pc_user_token(cloud)).status_code == 201
    # The plain agent's groups hold no Privileged Role Administrator in this customer.
    token = _delegated(cloud, AGENT, tenant, ["https://graph.microsoft.com/.default"])[
        "access_token"
    ]
    [graph_sp] = cloud.get(f"/v1.0/servicePrincipals?$filter=appId eq '{GRAPH_APP}'", token).json()[
        "value"
    ]
    app_id = cloud.us["app"]["client_id"]
    body = {
        "principalId": "x",
        "resourceId": graph_sp["id"],
        "appRoleId": graph_sp["appRoles"][0]["id"],
    }
    response = cloud.post(
        f"/v1.0/servicePrincipals/{graph_sp['id']}/appRoleAssignedTo", token, body
    )
    assert response.status_code == 403, response.text
    assert graph_error(response)["code"] == "Authorization_RequestDenied"
    assert app_id  # the app's service principal is listed to the agent (Directory Readers)
