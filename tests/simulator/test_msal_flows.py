"""MSAL Python, unmodified, against the simulator: the flows the portal relies on."""

from __future__ import annotations

import time

import jwt
import msal
import pytest

from tests.simulator.conftest import (
    GRAPH_DEFAULT,
    REDIRECT_URI,
    active_customer,
    agent,
    expired_customer,
    msal_app,
    query_of,
    sign_in,
)

AGENT = "agent@contosopartners.com"


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def signed_in_cache(sim, region, world, username=AGENT, scopes=GRAPH_DEFAULT):
    """Run the auth code flow at the partner tenant; returns (cache, result)."""
    cache = msal.SerializableTokenCache()
    app = msal_app(sim, region, region["partner_tenant_id"], cache=cache)
    flow = app.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT_URI, login_hint=username)
    response = sign_in(flow["auth_uri"], username, agent(world, username)["password"])
    result = app.acquire_token_by_auth_code_flow(flow, query_of(response))
    return cache, result


def test_msal_completes_the_auth_code_flow_with_pkce_at_the_partner_tenant(sim, us, world):
    _, result = signed_in_cache(sim, us, world)

    assert "access_token" in result, result
    id_claims = result["id_token_claims"]
    assert id_claims["tid"] == us["partner_tenant_id"]
    assert id_claims["preferred_username"] == AGENT
    assert id_claims["roles"] == ["Portal.Agent"]
    assert id_claims["ver"] == "2.0"
    access = claims_of(result["access_token"])
    assert access["aud"] == "https://graph.microsoft.com"
    assert access["tid"] == us["partner_tenant_id"]
    assert access["idtyp"] == "user"
    assert "User.Read.All" in access["scp"].split()
    assert access["appid"] == us["app"]["client_id"]


def test_the_authorize_url_points_at_the_plain_http_sign_in_origin(sim, us):
    app = msal_app(sim, us, us["partner_domain"])
    flow = app.initiate_auth_code_flow(GRAPH_DEFAULT, redirect_uri=REDIRECT_URI)

    assert flow["auth_uri"].startswith(f"{sim.http_base}/{us['partner_tenant_id']}/")


def test_refresh_token_is_redeemable_at_a_customer_tenant_of_the_agents_partner(sim, us, world):
    cache, _ = signed_in_cache(sim, us, world)
    customer = active_customer(us)
    app = msal_app(sim, us, customer["tenant_id"], cache=cache)
    account = app.get_accounts(username=AGENT)[0]
    before = sim.requests()["counters"]["token"]

    result = app.acquire_token_silent(GRAPH_DEFAULT, account=account)
    again = app.acquire_token_silent(GRAPH_DEFAULT, account=account)

    assert result and "access_token" in result, result
    assert claims_of(result["access_token"])["tid"] == customer["tenant_id"]
    assert result["id_token_claims"]["tid"] == customer["tenant_id"]
    assert again["access_token"] == result["access_token"]
    assert sim.requests()["counters"]["token"] == before + 1  # the second call hit the cache


def test_refresh_token_is_refused_at_a_customer_of_another_partner(sim, us, eu, world):
    cache, _ = signed_in_cache(sim, us, world)
    app = msal_app(sim, us, active_customer(eu)["tenant_id"], cache=cache)
    account = app.get_accounts(username=AGENT)[0]

    result = app.acquire_token_silent_with_error(GRAPH_DEFAULT, account=account)

    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [50020]


def test_refresh_at_an_expired_relationship_issues_a_token_that_graph_will_refuse(sim, us, world):
    cache, _ = signed_in_cache(sim, us, world)
    customer = expired_customer(us)
    app = msal_app(sim, us, customer["tenant_id"], cache=cache)
    account = app.get_accounts(username=AGENT)[0]

    result = app.acquire_token_silent_with_error(GRAPH_DEFAULT, account=account)

    # The foreign principal still exists, so Entra signs the agent in; the missing
    # privileges show up as 403 from Graph (world.delegated_access is False there).
    assert claims_of(result["access_token"])["tid"] == customer["tenant_id"]


def test_refresh_needs_interaction_when_the_tenant_requires_mfa(sim, us, world):
    cache, _ = signed_in_cache(sim, us, world)
    customer = active_customer(us)
    sim.faults(tenant=customer["tenant_id"], interaction_required=True)
    app = msal_app(sim, us, customer["tenant_id"], cache=cache)
    account = app.get_accounts(username=AGENT)[0]

    result = app.acquire_token_silent_with_error(GRAPH_DEFAULT, account=account)

    # Reference: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
    assert result["error"] == "invalid_grant" and result.get("suberror") == "basic_action"
    assert result["error_codes"] == [50076]


def test_client_credentials_work_at_a_customer_tenant(sim, us):
    customer = active_customer(us)
    app = msal_app(sim, us, customer["tenant_id"])

    result = app.acquire_token_for_client(GRAPH_DEFAULT)

    assert "access_token" in result, result
    assert "refresh_token" not in result and "id_token" not in result
    claims = claims_of(result["access_token"])
    assert claims["tid"] == customer["tenant_id"]
    assert claims["idtyp"] == "app"
    assert "DeviceManagementManagedDevices.Read.All" in claims["roles"]


def test_client_credentials_are_refused_at_an_expired_relationship(sim, us):
    app = msal_app(sim, us, expired_customer(us)["tenant_id"])

    result = app.acquire_token_for_client(GRAPH_DEFAULT)

    assert result["error"] == "unauthorized_client"
    assert result["error_codes"] == [700016]


def test_a_wrong_client_secret_is_rejected_as_invalid_client(sim, us):
    app = msal_app(sim, us, us["partner_tenant_id"], secret="not-the-secret")

    result = app.acquire_token_for_client(GRAPH_DEFAULT)

    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]


def test_a_wrong_pkce_verifier_is_rejected(sim, us, world):
    app = msal_app(sim, us, us["partner_tenant_id"])
    flow = app.initiate_auth_code_flow(GRAPH_DEFAULT, redirect_uri=REDIRECT_URI)
    response = sign_in(flow["auth_uri"], AGENT, agent(world, AGENT)["password"])
    flow["code_verifier"] = "x" * 43

    result = app.acquire_token_by_auth_code_flow(flow, query_of(response))

    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [501481]


def test_a_replayed_authorization_code_is_rejected(sim, us, world):
    app = msal_app(sim, us, us["partner_tenant_id"])
    flow = app.initiate_auth_code_flow(GRAPH_DEFAULT, redirect_uri=REDIRECT_URI)
    query = query_of(sign_in(flow["auth_uri"], AGENT, agent(world, AGENT)["password"]))
    assert "access_token" in app.acquire_token_by_auth_code_flow(dict(flow), query)

    replay = app.acquire_token_by_auth_code_flow(dict(flow), query)

    assert replay["error"] == "invalid_grant"
    assert replay["error_codes"] == [54005]


def test_msal_refuses_an_unknown_tenant_at_discovery(sim, us):
    response = sim.session.get(
        f"{sim.base_url}/no-such-tenant.com/v2.0/.well-known/openid-configuration", timeout=5
    )

    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]
    with pytest.raises(ValueError):
        msal_app(sim, us, "no-such-tenant.com")


@pytest.mark.parametrize("mode", ["aadsts", "no_roles"])
def test_client_credentials_follow_the_propagation_mode_until_the_relationship_arrives(
    sim, us, mode
):
    customer = expired_customer(us)
    sim.faults(propagation_delay=1.0, propagation_mode=mode)
    sim.accept_invitation(customer["tenant_id"])

    early = msal_app(sim, us, customer["tenant_id"]).acquire_token_for_client(GRAPH_DEFAULT)
    time.sleep(1.1)
    # A new app instance: MSAL would replay a cached 400 for 60 s.
    late = msal_app(sim, us, customer["tenant_id"]).acquire_token_for_client(GRAPH_DEFAULT)

    if mode == "aadsts":
        assert early["error_codes"] == [700016]
    else:
        assert "roles" not in claims_of(early["access_token"])  # omitted, not empty
    assert "Directory.Read.All" in claims_of(late["access_token"])["roles"]


def test_reset_forgets_refresh_tokens_so_msal_must_sign_in_again(sim, us, world):
    cache, _ = signed_in_cache(sim, us, world)
    sim.reset()
    app = msal_app(sim, us, active_customer(us)["tenant_id"], cache=cache)
    account = app.get_accounts(username=AGENT)[0]

    result = app.acquire_token_silent_with_error(GRAPH_DEFAULT, account=account)

    assert result["error"] == "invalid_grant"


def test_sign_in_through_the_organizations_authority_lands_in_the_home_tenant(sim, eu, world):
    username = "manager@contosopartners.eu"

    app = msal_app(sim, eu, "organizations")
    flow = app.initiate_auth_code_flow(GRAPH_DEFAULT, redirect_uri=REDIRECT_URI)
    response = sign_in(flow["auth_uri"], username, agent(world, username)["password"])
    result = app.acquire_token_by_auth_code_flow(flow, query_of(response))

    assert result["id_token_claims"]["tid"] == eu["partner_tenant_id"]
    assert result["id_token_claims"]["roles"] == ["Portal.Manager"]


def test_a_partner_center_scope_yields_a_partner_center_audience(sim, us, world):
    scopes = ["https://api.partnercenter.microsoft.com/user_impersonation"]

    _, result = signed_in_cache(sim, us, world, scopes=scopes)

    claims = claims_of(result["access_token"])
    assert claims["aud"] == "https://api.partnercenter.microsoft.com"
    assert claims["scp"] == "user_impersonation"


def test_graph_accepts_these_tokens_and_refuses_agents_at_an_expired_customer(sim, us, world):
    cache, _ = signed_in_cache(sim, us, world)
    session = sim.new_session()

    def graph_status(tenant_id: str) -> int:
        app = msal_app(sim, us, tenant_id, cache=cache)
        token = app.acquire_token_silent(GRAPH_DEFAULT, account=app.get_accounts()[0])
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        return session.get(f"{sim.base_url}/graph/v1.0/organization", headers=headers).status_code

    assert graph_status(active_customer(us)["tenant_id"]) == 200
    assert graph_status(expired_customer(us)["tenant_id"]) == 403
