"""Helpers for the app-consent tests: real tokens (MSAL against the simulator), Partner
Center's application-consent calls, and the world as /_sim/ shows it."""

from __future__ import annotations

from typing import Any

import msal
import requests

from .conftest import GRAPH, PARTNER_CENTER, SimClient
from .test_graph_delegated import msal_app, sign_in

GRAPH_APP = "00000003-0000-0000-c000-000000000000"
ADMIN = "admin@contosopartners.com"  # in "Portal admins": Cloud App + Privileged Role Admin
AGENT = "agent@contosopartners.com"  # in "Helpdesk agents" only
NOROLE = "norole@contosopartners.com"  # no portal role: not in AdminAgents
GRAPH_DEFAULT = [f"{GRAPH}/.default"]
# What the portal asks Partner Center for (regions/permissions.py CONSENT_SCOPES).
CONSENT_SCOPES = (
    "User.Read.All",
    "Group.Read.All",
    "Device.Read.All",
    "Directory.Read.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementConfiguration.Read.All",
    "Application.Read.All",
    "AppRoleAssignment.ReadWrite.All",
)
ASSIGN_SCOPES = ("Application.Read.All", "AppRoleAssignment.ReadWrite.All")
# Microsoft's appRoles ids of the application permissions the app is given, checked against
# https://learn.microsoft.com/graph/permissions-reference.
APP_ROLE_IDS = {
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "Device.Read.All": "7438b122-aefc-4978-80ed-43db9fcc7715",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "DeviceManagementManagedDevices.Read.All": "2f51be20-0bb4-4fed-bf7b-db946066c75e",
    "DeviceManagementConfiguration.Read.All": "dc377aa6-52d8-4e23-b271-2a7ae04cedf3",
}


def delegated(cloud: SimClient, username: str, tenant: str, scopes: list[str]) -> dict[str, Any]:
    """MSAL's answer for the agent at `tenant`: signed in at the partner, then silently."""
    cache = sign_in(cloud, username)
    app = msal_app(cloud, tenant, cache)
    result = app.acquire_token_silent_with_error(scopes, account=app.get_accounts(username)[0])
    assert result is not None
    return result


def delegated_token(
    cloud: SimClient, username: str, tenant: str, scopes: list[str] | None = None
) -> str:
    answer = delegated(cloud, username, tenant, scopes or GRAPH_DEFAULT)
    assert "access_token" in answer, answer
    return answer["access_token"]


def pc_user_token(cloud: SimClient, username: str = ADMIN) -> str:
    """An App+User Partner Center token (user_impersonation) of one of the partner's agents."""
    scopes = [f"{PARTNER_CENTER}/user_impersonation"]
    return delegated_token(cloud, username, cloud.us["partner_tenant_id"], scopes)


def client_credentials(cloud: SimClient, tenant: str) -> dict[str, Any]:
    """MSAL's client-credentials answer at `tenant` (a new MSAL app: nothing cached)."""
    app = cloud.us["app"]
    client = msal.ConfidentialClientApplication(
        app["client_id"],
        client_credential=app["client_secret"],
        authority=f"{cloud.sim.base_url}/{tenant}",
        instance_discovery=False,
        http_client=cloud.sim.new_session(),
    )
    return client.acquire_token_for_client(GRAPH_DEFAULT)


def consents_url(cloud: SimClient, tenant: str) -> str:
    return f"{cloud.partner_center}/v1/customers/{tenant}/applicationconsents"


def consent_body(cloud: SimClient, scopes: tuple[str, ...] = CONSENT_SCOPES) -> dict[str, Any]:
    return {
        "applicationId": cloud.us["app"]["client_id"],
        "applicationGrants": [{"enterpriseApplicationId": GRAPH_APP, "scope": ",".join(scopes)}],
    }


def pc(
    cloud: SimClient, method: str, url: str, token: str, body: Any = None, **headers: str
) -> requests.Response:
    sent = {"Authorization": f"Bearer {token}", **headers}
    return cloud.session.request(method, url, json=body, headers=sent, timeout=10)


def consent(
    cloud: SimClient, tenant: str, token: str, body: Any = None, **headers: str
) -> requests.Response:
    """POST …/applicationconsents (the portal's consent request unless `body` says otherwise)."""
    sent = consent_body(cloud) if body is None else body
    return pc(cloud, "POST", consents_url(cloud, tenant), token, sent, **headers)


def customer_info(cloud: SimClient, tenant: str) -> dict[str, Any]:
    region = next(r for r in cloud.sim.info()["regions"] if r["slug"] == "us")
    return next(c for c in region["customers"] if c["tenant_id"] == tenant)


def of_type(cloud: SimClient, kind: str, status: str = "active") -> str:
    """A seeded US customer of that relationship type and status."""
    return next(
        c["tenant_id"]
        for c in cloud.us["customers"]
        if c["relationship"]["type"] == kind and c["relationship"]["status"] == status
    )


def unconsented_gdap(cloud: SimClient) -> str:
    """A seeded GDAP customer whose consent was removed (the app has no service principal)."""
    tenant = of_type(cloud, "gdap")
    cloud.sim.consent(tenant, consented=False)
    return tenant


def agent_oid(cloud: SimClient, username: str) -> str:
    return next(a["object_id"] for a in cloud.info["agents"] if a["username"] == username)


def error_codes(answer: dict[str, Any]) -> list[int]:
    return list(answer.get("error_codes") or [])
