"""GDAP enforced in customer tenants: the simulator refuses each case Microsoft refuses.

An agent reaches a customer only through a partner security group assigned there (or
AdminAgents where there is DAP), only if the app is consented, and only with the roles the
group holds; client credentials only where the app's service principal has app roles.

Reference: https://learn.microsoft.com/partner-center/customers/gdap-introduction
Reference: https://learn.microsoft.com/partner-center/customers/gdap-assign-microsoft-entra-roles
Reference: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
"""

from __future__ import annotations

import json
from typing import Any

import msal
import pytest

from tests.simharness import Simulator

from .conftest import SimClient, graph_error
from .test_graph_delegated import SCOPES, msal_app, sign_in

AGENT = "agent@contosopartners.com"
L1 = "l1@contosopartners.com"
NOROLE = "norole@contosopartners.com"
INTUNE = "/v1.0/deviceManagement/managedDevices?$top=1"
USERS = "/v1.0/users?$top=1"


@pytest.fixture
def cloud(sim: Simulator) -> SimClient:
    """The default world (every relationship case), reset after each test."""
    return SimClient(sim)


def of_type(cloud: SimClient, kind: str) -> dict[str, Any]:
    return next(
        c
        for c in cloud.us["customers"]
        if c["relationship"]["type"] == kind and c["relationship"]["status"] == "active"
    )


def token_answer(cloud: SimClient, username: str, tenant: str) -> dict[str, Any]:
    """MSAL's answer when the agent's refresh token is redeemed at the customer tenant."""
    cache = sign_in(cloud, username)
    app = msal_app(cloud, tenant, cache)
    result = app.acquire_token_silent_with_error(SCOPES, account=app.get_accounts(username)[0])
    assert result is not None
    return result


def delegated(cloud: SimClient, username: str, tenant: str) -> str:
    answer = token_answer(cloud, username, tenant)
    assert "access_token" in answer, answer
    return answer["access_token"]


def test_an_agent_in_an_assigned_group_reads_directory_and_intune(cloud):
    token = delegated(cloud, AGENT, of_type(cloud, "gdap")["tenant_id"])
    assert cloud.get(USERS, token).status_code == 200
    assert cloud.get(INTUNE, token).status_code == 200


def test_an_agent_in_no_assigned_group_gets_no_token_at_the_customer(cloud):
    # The MLT customer: only "Helpdesk agents" and "Portal admins" are assigned; l1 is in neither.
    answer = token_answer(cloud, L1, of_type(cloud, "mlt")["tenant_id"])
    assert "access_token" not in answer
    assert answer["error"] == "invalid_grant" and 50020 in answer["error_codes"]


def test_removing_the_agent_from_its_group_closes_the_customer(cloud):
    tenant = of_type(cloud, "gdap")["tenant_id"]
    token = delegated(cloud, AGENT, tenant)
    cloud.sim.agent_groups(AGENT, [])
    # The token already issued is refused by Graph; a new one is not issued at all.
    response = cloud.get(USERS, token)
    assert response.status_code == 403
    assert graph_error(response)["code"] == "Authorization_RequestDenied"
    assert 50020 in token_answer(cloud, AGENT, tenant)["error_codes"]


def test_a_group_without_the_intune_role_is_refused_intune_in_intunes_shape(cloud):
    """Intune's 403 to a user without the role: code UnknownError, Intune's Forbidden wrapped.
    Reference: https://github.com/AzureAD/microsoft-authentication-library-for-js/issues/7007
    """
    # Customer 0 assigns "L1 no Intune" (Directory Readers + Helpdesk Administrator).
    tenant = cloud.us["customers"][0]["tenant_id"]
    token = delegated(cloud, L1, tenant)
    assert cloud.get(USERS, token).status_code == 200
    response = cloud.get(INTUNE, token)
    assert response.status_code == 403
    error = graph_error(response)
    assert error["code"] == "UnknownError"
    wrapped = json.loads(error["message"])
    assert wrapped["ErrorCode"] == "Forbidden"
    assert json.loads(wrapped["Message"])["_version"] == 3


def test_a_group_without_a_directory_role_is_refused_directory_reads(cloud):
    tenant = of_type(cloud, "gdap")["tenant_id"]
    cloud.sim.relationship(tenant, roles=["Intune Administrator"])
    token = delegated(cloud, AGENT, tenant)
    response = cloud.get(USERS, token)
    assert response.status_code == 403
    assert graph_error(response)["code"] == "Authorization_RequestDenied"
    assert cloud.get(INTUNE, token).status_code == 200


def test_an_unconsented_customer_answers_65001_consent_required(cloud):
    """MSAL shows `suberror` as Entra sends it; 65001 with consent_required."""
    tenant = of_type(cloud, "gdap")["tenant_id"]
    cloud.sim.consent(tenant, consented=False)
    answer = token_answer(cloud, AGENT, tenant)
    assert "access_token" not in answer
    assert answer["error"] == "invalid_grant" and 65001 in answer["error_codes"]
    assert answer["suberror"] == "consent_required"


def test_a_scope_the_customer_never_consented_is_65001(cloud):
    tenant = of_type(cloud, "gdap")["tenant_id"]
    cloud.sim.consent(tenant, consented=True, scopes=["User.Read.All"], app_roles=[])
    cache = sign_in(cloud, AGENT)
    app = msal_app(cloud, tenant, cache)
    account = app.get_accounts(AGENT)[0]
    granted = app.acquire_token_silent_with_error(
        ["https://graph.microsoft.com/User.Read.All"], account=account
    )
    assert granted and "access_token" in granted, granted
    refused = app.acquire_token_silent_with_error(
        ["https://graph.microsoft.com/Device.Read.All"], account=account, force_refresh=True
    )
    assert refused and 65001 in refused["error_codes"]


def test_dap_admits_admin_agents_only(cloud):
    tenant = of_type(cloud, "dap")["tenant_id"]
    token = delegated(cloud, L1, tenant)  # l1 has a portal role: in AdminAgents
    assert cloud.get(INTUNE, token).status_code == 200
    answer = token_answer(cloud, NOROLE, tenant)
    assert 50020 in answer["error_codes"]


def test_client_credentials_fail_without_the_service_principal(cloud):
    tenant = of_type(cloud, "gdap")["tenant_id"]
    cloud.sim.consent(tenant, consented=False)
    app = cloud.us["app"]
    client = msal.ConfidentialClientApplication(
        app["client_id"],
        client_credential=app["client_secret"],
        authority=f"{cloud.sim.base_url}/{tenant}",
        instance_discovery=False,
        http_client=cloud.sim.new_session(),
    )
    answer = client.acquire_token_for_client(SCOPES)
    assert "access_token" not in answer
    assert 700016 in answer["error_codes"]


def test_a_service_principal_without_app_roles_gets_a_token_graph_refuses(cloud):
    tenant = of_type(cloud, "gdap")["tenant_id"]
    cloud.sim.consent(tenant, consented=True, app_roles=[])
    token = cloud.token(tenant)
    response = cloud.get(USERS, token)
    assert response.status_code == 403
    assert graph_error(response)["code"] == "Authorization_RequestDenied"


def test_the_app_roles_assigned_are_the_ones_the_token_carries(cloud):
    tenant = of_type(cloud, "gdap")["tenant_id"]
    cloud.sim.consent(tenant, consented=True, app_roles=["User.Read.All"])
    token = cloud.token(tenant)
    assert cloud.get(USERS, token).status_code == 200
    assert cloud.get(INTUNE, token).status_code == 403
