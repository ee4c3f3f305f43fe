"""Delegated (agent) tokens from MSAL's real auth code flow, used against Graph."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl, urlsplit

import msal
import pytest
import requests

from .conftest import GRAPH, SimClient, graph_error

AGENT = "agent@contosopartners.com"
SCOPES = [f"{GRAPH}/.default"]
REDIRECT_URI = "http://127.0.0.1:8000/auth/callback/"


def msal_app(cloud: SimClient, tenant: str, cache: msal.TokenCache):
    app = cloud.us["app"]
    return msal.ConfidentialClientApplication(
        app["client_id"],
        client_credential=app["client_secret"],
        authority=f"{cloud.sim.base_url}/{tenant}",
        instance_discovery=False,
        http_client=cloud.sim.new_session(),
        token_cache=cache,
    )


def sign_in(cloud: SimClient, username: str) -> msal.SerializableTokenCache:
    """Sign an agent in at the partner tenant through the simulator's sign-in form."""
    cache = msal.SerializableTokenCache()
    cloud.sim._call("POST", "/_sim/regions/us/app/redirect-uris", {"redirect_uris": [REDIRECT_URI]})
    app = msal_app(cloud, cloud.us["partner_tenant_id"], cache)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, login_hint=username)
    password = next(a["password"] for a in cloud.info["agents"] if a["username"] == username)
    browser = requests.Session()
    browser.trust_env = False
    assert browser.get(flow["auth_uri"], timeout=10).status_code == 200
    answer = browser.post(
        flow["auth_uri"],
        data={"login": username, "passwd": password},
        allow_redirects=False,
        timeout=10,
    )
    query = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, query)
    return cache


@pytest.fixture
def signed_in(cloud: SimClient) -> msal.SerializableTokenCache:
    return sign_in(cloud, AGENT)


def customer_token(
    cloud: SimClient, cache: msal.TokenCache, tenant: str, username: str = AGENT
) -> str:
    app = msal_app(cloud, tenant, cache)
    result = app.acquire_token_silent_with_error(SCOPES, account=app.get_accounts(username)[0])
    assert result and "access_token" in result, result
    return result["access_token"]


def test_an_agent_reads_an_active_customers_users(cloud, signed_in):
    customer = cloud.customer()
    token = customer_token(cloud, signed_in, customer["tenant_id"])
    body = cloud.get("/v1.0/users?$top=5", token).json()
    assert len(body["value"]) == 5
    assert cloud.sim.requests()["requests"][-1]["tenant"] == customer["tenant_id"]


def test_an_agent_is_denied_at_the_customer_with_an_expired_relationship(cloud, signed_in):
    token = customer_token(cloud, signed_in, cloud.customer("expired")["tenant_id"])
    response = cloud.get("/v1.0/users", token)
    assert response.status_code == 403
    assert graph_error(response)["code"] == "Authorization_RequestDenied"


def test_an_agent_reads_the_partners_own_relationships(cloud, signed_in):
    token = customer_token(cloud, signed_in, cloud.us["partner_tenant_id"])
    path = "/v1.0/tenantRelationships/delegatedAdminRelationships"
    gdap = [c for c in cloud.us["customers"] if c["relationship"]["type"] != "dap"]
    assert len(cloud.get(path, token).json()["value"]) == len(gdap)


def test_me_is_the_signed_in_agent_in_its_own_tenant(cloud, signed_in):
    token = customer_token(cloud, signed_in, cloud.us["partner_tenant_id"])
    me = cloud.get("/v1.0/me", token).json()
    assert me["userPrincipalName"] == AGENT
    app_token = cloud.token(cloud.us["partner_tenant_id"])
    assert cloud.get("/v1.0/me", app_token).status_code == 400


def test_a_partner_admin_may_add_admin_agents_but_a_plain_agent_may_not(cloud, signed_in):
    partner = cloud.us["partner_tenant_id"]
    admin = "admin@contosopartners.com"
    admin_token = customer_token(cloud, sign_in(cloud, admin), partner, admin)
    agent_token = customer_token(cloud, signed_in, partner)
    groups = cloud.get("/v1.0/groups?$filter=displayName eq 'AdminAgents'", admin_token).json()
    group = groups["value"][0]["id"]
    norole = cloud.get("/v1.0/users/norole@contosopartners.com", admin_token).json()
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{norole['id']}"}
    path = f"/v1.0/groups/{group}/members/$ref"
    assert cloud.post(path, agent_token, ref).status_code == 403
    assert cloud.post(path, admin_token, ref).status_code == 204


def test_an_agents_member_of_lists_its_partner_groups_and_the_app_cannot_ask(cloud, signed_in):
    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-memberof
    partner = cloud.us["partner_tenant_id"]
    token = customer_token(cloud, signed_in, partner)
    names = {g["displayName"] for g in cloud.get("/v1.0/me/memberOf", token).json()["value"]}
    helpdesk = next(g for g in cloud.us["groups"] if AGENT in g["members"])
    assert {helpdesk["name"], "AdminAgents"} <= names
    assert not {g["name"] for g in cloud.us["groups"] if AGENT not in g["members"]} & names
    l1_user = next(a["username"] for a in cloud.info["agents"] if a["username"].startswith("l1@"))
    l1_token = customer_token(cloud, sign_in(cloud, l1_user), partner, l1_user)
    l1_groups = {g["displayName"] for g in cloud.get("/v1.0/me/memberOf", l1_token).json()["value"]}
    assert helpdesk["name"] not in l1_groups
    assert l1_groups == {g["name"] for g in cloud.us["groups"] if l1_user in g["members"]} | (
        {"AdminAgents", "HelpdeskAgents"}
    )
    app_only = cloud.get("/v1.0/me/memberOf", cloud.token(partner))
    assert app_only.status_code == 400


def test_member_of_is_refused_to_a_delegated_token_without_user_read(cloud, signed_in):
    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-memberof
    # (delegated, least privileged User.Read).
    partner = cloud.us["partner_tenant_id"]
    real = customer_token(cloud, signed_in, partner)
    payload = real.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    token = cloud.mint(partner, idtyp="user", oid=claims["oid"], scp="Mail.Read")
    user_read = cloud.mint(partner, idtyp="user", oid=claims["oid"], scp="User.Read")

    answer = cloud.get("/v1.0/me/memberOf", token)

    assert answer.status_code == 403
    assert graph_error(answer)["code"] == "Authorization_RequestDenied"
    assert cloud.get("/v1.0/me/memberOf", user_read).status_code == 200
