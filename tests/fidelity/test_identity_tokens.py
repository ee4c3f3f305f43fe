"""Entra's token endpoint as Microsoft documents it: error shapes (point 2), the v1 id_token
(point 3) and the claims of access tokens (point 6). A failure here means the simulator
drifted from Microsoft."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from mscloud.errors import ErrorKind
from mscloud.identity import InteractionRequired, raise_for_result
from tests.fidelity.identity import (
    AGENT,
    GRAPH_DEFAULT,
    REDIRECT_URI,
    active_customer,
    claims_of,
    expired_customer,
    header_of,
    msal_app,
    query_of,
    redirect_uris_add,
    region_of,
    sign_in,
    signed_in,
)

GRAPH = "https://graph.microsoft.com"


def _client_credentials(sim, region, tenant, **extra) -> dict:
    response = sim.new_session().post(
        f"{sim.base_url}/{tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": region["app"]["client_id"],
            "client_secret": region["app"]["client_secret"],
            "scope": f"{GRAPH}/.default",
            **extra,
        },
        timeout=10,
    )
    return response.json()


# --- point 2: token errors -------------------------------------------------------------


def test_mfa_required_is_invalid_grant_with_suberror_basic_action(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (AADSTS50076)
    and https://learn.microsoft.com/entra/msal/python/advanced/msal-error-handling-python
    (suberror basic_action: the user must do something simple, like MFA)."""
    us = region_of(world)
    _, cache, _ = signed_in(sim, world)
    customer = active_customer(us)
    sim.faults(tenant=customer["tenant_id"], interaction_required=True)
    app = msal_app(sim, us, customer["tenant_id"], cache=cache)

    result = app.acquire_token_silent_with_error(GRAPH_DEFAULT, account=app.get_accounts()[0])

    assert result["error"] == "invalid_grant"
    assert result["suberror"] == "basic_action"
    assert result["error_codes"] == [50076]


def test_the_portal_raises_interaction_required_for_what_entra_sends_on_mfa(sim, world):
    """https://learn.microsoft.com/entra/msal/python/advanced/msal-error-handling-python —
    the portal branches on `error` + `suberror` + code exactly as Entra sends them."""
    us = region_of(world)
    _, cache, _ = signed_in(sim, world)
    customer = active_customer(us)
    sim.faults(tenant=customer["tenant_id"], interaction_required=True)
    app = msal_app(sim, us, customer["tenant_id"], cache=cache)
    result = app.acquire_token_silent_with_error(GRAPH_DEFAULT, account=app.get_accounts()[0])

    with pytest.raises(InteractionRequired) as raised:
        raise_for_result(result)

    assert raised.value.kind == ErrorKind.INTERACTION_REQUIRED
    assert (raised.value.error, raised.value.suberror, raised.value.aadsts) == (
        "invalid_grant",
        "basic_action",
        50076,
    )


@pytest.mark.parametrize("suberror", ["basic_action", "additional_action", "message_only"])
def test_an_invalid_grant_with_a_ui_suberror_is_an_interaction_whatever_its_code(suberror):
    """https://learn.microsoft.com/entra/msal/python/advanced/msal-error-handling-python —
    the suberror, not a list of codes the portal happens to know, says a user can fix it
    (50072: the user must enrol in MFA)."""
    answer = {
        "error": "invalid_grant",
        "error_description": "AADSTS50072: Due to a configuration change…",
        "error_codes": [50072],
        "suberror": suberror,
    }

    with pytest.raises(InteractionRequired) as raised:
        raise_for_result(answer)

    assert raised.value.kind == ErrorKind.INTERACTION_REQUIRED
    assert raised.value.codes == [50072] and raised.value.error == "invalid_grant"


def test_no_consent_is_invalid_grant_65001_with_suberror_consent_required(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (AADSTS65001)
    — and the portal reads it as not consented, never as an interaction."""
    us = region_of(world)
    _, cache, _ = signed_in(sim, world)
    # A GDAP customer whose consent was removed: the app has no service principal there.
    tenant = next(
        c["tenant_id"]
        for c in us["customers"]
        if c["relationship"]["status"] == "active" and c["relationship"]["type"] == "gdap"
    )
    sim.consent(tenant, consented=False)
    app = msal_app(sim, us, tenant, cache=cache)

    result = app.acquire_token_silent_with_error(GRAPH_DEFAULT, account=app.get_accounts()[0])

    assert result["error"] == "invalid_grant" and result["error_codes"] == [65001]
    assert result["suberror"] == "consent_required"
    with pytest.raises(Exception) as raised:
        raise_for_result(result)
    assert not isinstance(raised.value, InteractionRequired)
    assert raised.value.kind == ErrorKind.NOT_CONSENTED


def test_resource_on_the_v2_token_endpoint_is_aadsts901002(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (AADSTS901002:
    the 'resource' request parameter isn't supported) — v2.0 takes scopes only."""
    us = region_of(world)

    answer = _client_credentials(sim, us, us["partner_tenant_id"], resource=GRAPH)

    assert answer["error"] == "invalid_request"
    assert answer["error_codes"] == [901002]
    assert "access_token" not in answer


def test_resource_on_the_v2_authorize_endpoint_is_aadsts901002_sent_back(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (AADSTS901002)."""
    us = region_of(world)
    redirect_uris_add(sim, "us", REDIRECT_URI)
    params = {
        "client_id": us["app"]["client_id"],
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "resource": GRAPH,
        "state": "s",
    }
    url = f"{sim.http_base}/{us['partner_tenant_id']}/oauth2/v2.0/authorize?{urlencode(params)}"

    answer = query_of(sim.new_session().get(url, allow_redirects=False, timeout=10))

    assert answer["error"] == "invalid_request"
    assert answer["error_description"].startswith("AADSTS901002:")


# --- point 3: the v1 id_token -----------------------------------------------------------


def test_the_v1_token_endpoints_id_token_is_unsigned(sim, world):
    """https://learn.microsoft.com/previous-versions/azure/active-directory/azuread-dev/v1-protocols-oauth-code
    — the v1 token response's id_token is "an unsigned JSON Web Token" (alg none, no
    signature); the access token stays signed."""
    us = region_of(world)
    redirect_uris_add(sim, "us", REDIRECT_URI)
    tenant = us["partner_tenant_id"]
    params = {
        "client_id": us["app"]["client_id"],
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "resource": GRAPH,
        "state": "s",
    }
    password = next(a["password"] for a in world["agents"] if a["username"] == AGENT)
    url = f"{sim.http_base}/{tenant}/oauth2/authorize?{urlencode(params)}"
    code = query_of(sign_in(url, AGENT, password))["code"]

    token = (
        sim.new_session()
        .post(
            f"{sim.base_url}/{tenant}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "client_id": us["app"]["client_id"],
                "client_secret": us["app"]["client_secret"],
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "resource": GRAPH,
            },
            timeout=10,
        )
        .json()
    )

    id_token = token["id_token"]
    assert header_of(id_token)["alg"] == "none"
    assert id_token.endswith(".") and id_token.count(".") == 2
    assert claims_of(id_token)["ver"] == "1.0" and claims_of(id_token)["upn"] == AGENT
    assert header_of(token["access_token"])["alg"] == "RS256"


# --- point 6: access-token claims -------------------------------------------------------


def test_an_app_token_without_app_roles_has_no_roles_claim(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference —
    `roles` is present only when the app has roles there; Entra omits claims without a value."""
    us = region_of(world)
    customer = expired_customer(us)
    sim.faults(propagation_delay=3600, propagation_mode="no_roles")
    sim.accept_invitation(customer["tenant_id"])

    answer = _client_credentials(sim, us, customer["tenant_id"])

    claims = claims_of(answer["access_token"])
    assert "roles" not in claims
    assert all(value not in (None, "", []) for value in claims.values()), claims


def test_graph_access_tokens_are_v1_with_appid_and_never_azp(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference —
    `appid`/`appidacr` are v1.0-only, `azp`/`azpacr` v2.0-only; Graph's tokens are v1.0."""
    us = region_of(world)
    _, _, user = signed_in(sim, world)
    app_only = _client_credentials(sim, us, us["partner_tenant_id"])

    for token in (user["access_token"], app_only["access_token"]):
        claims = claims_of(token)
        assert claims["ver"] == "1.0"
        assert claims["appid"] == us["app"]["client_id"] and claims["appidacr"] == "1"
        assert "azp" not in claims and "azpacr" not in claims


def test_access_token_lifetimes_are_random_between_60_and_90_minutes(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/access-tokens (token lifetime: "a
    random value ranging between 60-90 minutes (75 minutes on average)")."""
    us = region_of(world)

    lifetimes = [
        _client_credentials(sim, us, us["partner_tenant_id"])["expires_in"] for _ in range(8)
    ]

    assert all(3600 <= lifetime <= 5400 for lifetime in lifetimes), lifetimes
    assert len(set(lifetimes)) > 1, lifetimes
