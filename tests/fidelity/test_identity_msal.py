"""MSAL Python, unmodified (configuration only: authority, instance_discovery=False, CA), as
the judge of the simulator's Entra: every flow and AADSTS case of REFERENCE.md, and
certificate credentials with RS256 (x5t) and PS256 (x5t#S256) client assertions. A failure
here reads "the simulator drifted from Microsoft"."""

from __future__ import annotations

import base64
import json

import msal
import pytest

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
from tests.regions.conftest import make_certificate


def _password(world, username: str) -> str:
    return next(a["password"] for a in world["agents"] if a["username"] == username)


def _certificate_app(sim, region, tenant, credential: dict) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        region["app"]["client_id"],
        client_credential=credential,
        authority=f"{sim.base_url}/{tenant}",
        instance_discovery=False,
        http_client=sim.new_session(),
    )


def _register_certificate(sim, slug: str, cert: str) -> None:
    sim._call("POST", f"/_sim/regions/{slug}/app/certificates", {"certificate": cert})


# --- flows ------------------------------------------------------------------------------


def test_the_auth_code_flow_with_pkce_gives_tokens_and_client_info(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow —
    refresh_token, id_token (v2, nonce checked by MSAL) and client_info {uid, utid}."""
    us = region_of(world)
    _, _, result = signed_in(sim, world)

    assert {"access_token", "refresh_token", "id_token", "client_info"} <= set(result)
    info = json.loads(base64.urlsafe_b64decode(result["client_info"] + "=="))
    assert info["utid"] == us["partner_tenant_id"]
    assert result["id_token_claims"]["ver"] == "2.0"
    assert result["id_token_claims"]["aud"] == us["app"]["client_id"]
    assert header_of(result["id_token"])["alg"] == "RS256"


def test_silent_acquisition_answers_from_the_cache_then_redeems_at_a_customer_tenant(sim, world):
    """https://learn.microsoft.com/entra/msal/python/ — a cached token while it lives; a
    refresh token (bound to user + client, not tenant) redeemed at another tenant."""
    us = region_of(world)
    app, cache, first = signed_in(sim, world)
    account = app.get_accounts()[0]

    again = app.acquire_token_silent(GRAPH_DEFAULT, account=account)
    customer = active_customer(us)
    other = msal_app(sim, us, customer["tenant_id"], cache=cache)
    theirs = other.acquire_token_silent(GRAPH_DEFAULT, account=other.get_accounts()[0])

    assert again["access_token"] == first["access_token"]
    assert claims_of(theirs["access_token"])["tid"] == customer["tenant_id"]


def test_client_credentials_give_an_app_only_token_without_user_parts(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
    — no refresh_token, id_token or client_info; idtyp app."""
    us = region_of(world)

    result = msal_app(sim, us, us["partner_tenant_id"]).acquire_token_for_client(GRAPH_DEFAULT)

    assert "access_token" in result, result
    assert not {"refresh_token", "id_token", "client_info"} & set(result)
    assert claims_of(result["access_token"])["idtyp"] == "app"


@pytest.mark.parametrize(
    ("with_thumbprint", "alg", "header"), [(True, "RS256", "x5t"), (False, "PS256", "x5t#S256")]
)
def test_a_certificate_credential_gets_an_app_token(sim, world, with_thumbprint, alg, header):
    """https://learn.microsoft.com/entra/identity-platform/certificate-credentials — a client
    assertion signed by a registered certificate: RS256 with x5t (SHA-1) or PS256 with
    x5t#S256 (what MSAL sends without a SHA-1 thumbprint)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    us = region_of(world)
    key, cert = make_certificate()
    _register_certificate(sim, "us", cert)
    credential = {"private_key": key, "public_certificate": cert}
    if with_thumbprint:
        sha1 = x509.load_pem_x509_certificate(cert.encode()).fingerprint(hashes.SHA1())  # noqa: S303
        credential = {"private_key": key, "thumbprint": sha1.hex()}
    app = _certificate_app(sim, us, us["partner_tenant_id"], credential)
    sent = []
    original = app.http_client.post

    def recording_post(url, **kwargs):
        sent.append(kwargs.get("data") or {})
        return original(url, **kwargs)

    app.http_client.post = recording_post

    result = app.acquire_token_for_client(GRAPH_DEFAULT)

    assert "access_token" in result, result
    assertion = sent[-1]["client_assertion"]
    assert header_of(assertion)["alg"] == alg and header in header_of(assertion)


def test_an_unregistered_certificate_is_aadsts700027(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (700027)."""
    us = region_of(world)
    key, cert = make_certificate()
    app = _certificate_app(
        sim, us, us["partner_tenant_id"], {"private_key": key, "public_certificate": cert}
    )

    result = app.acquire_token_for_client(GRAPH_DEFAULT)

    assert result["error"] == "invalid_client" and result["error_codes"] == [700027]


# --- AADSTS cases -----------------------------------------------------------------------


def test_an_unknown_tenant_fails_msal_discovery(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (90002:
    tenant not found, already on discovery) — MSAL raises ValueError."""
    us = region_of(world)

    with pytest.raises(ValueError):
        msal_app(sim, us, "nosuchtenant.example")


def test_an_app_unknown_in_the_tenant_is_aadsts700016(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (700016)."""
    us = region_of(world)
    customer = expired_customer(us)

    result = msal_app(sim, us, customer["tenant_id"]).acquire_token_for_client(GRAPH_DEFAULT)

    assert result["error"] == "unauthorized_client" and result["error_codes"] == [700016]


def test_a_wrong_client_secret_is_aadsts7000215(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (7000215)."""
    us = region_of(world)
    app = msal_app(sim, us, us["partner_tenant_id"], secret="not-the-secret")

    result = app.acquire_token_for_client(GRAPH_DEFAULT)

    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]


def test_a_code_redeemed_twice_is_aadsts54005(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (54005)."""
    us = region_of(world)
    redirect_uris_add(sim, "us", REDIRECT_URI)
    app = msal_app(sim, us, us["partner_tenant_id"])
    flow = app.initiate_auth_code_flow(GRAPH_DEFAULT, redirect_uri=REDIRECT_URI, login_hint=AGENT)
    answer = query_of(sign_in(flow["auth_uri"], AGENT, _password(world, AGENT)))
    assert "access_token" in app.acquire_token_by_auth_code_flow(dict(flow), answer)

    again = app.acquire_token_by_auth_code_flow(dict(flow), answer)

    assert again["error"] == "invalid_grant" and again["error_codes"] == [54005]


def test_a_pkce_verifier_that_does_not_match_is_aadsts501481(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (501481)."""
    us = region_of(world)
    redirect_uris_add(sim, "us", REDIRECT_URI)
    app = msal_app(sim, us, us["partner_tenant_id"])
    flow = app.initiate_auth_code_flow(GRAPH_DEFAULT, redirect_uri=REDIRECT_URI, login_hint=AGENT)
    answer = query_of(sign_in(flow["auth_uri"], AGENT, _password(world, AGENT)))

    result = app.acquire_token_by_auth_code_flow({**flow, "code_verifier": "x" * 43}, answer)

    assert result["error"] == "invalid_grant" and result["error_codes"] == [501481]


def test_a_revoked_refresh_token_is_aadsts50173(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (50173)."""
    app, _, _ = signed_in(sim, world)
    sim._call("POST", f"/_sim/agents/{AGENT}/revoke")

    result = app.acquire_token_silent_with_error(
        GRAPH_DEFAULT, account=app.get_accounts()[0], force_refresh=True
    )

    assert result["error"] == "invalid_grant" and result["error_codes"] == [50173]


def test_a_user_without_access_to_the_tenant_is_aadsts50020(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (50020)."""
    us = region_of(world)
    eu_agent = next(a["username"] for a in world["agents"] if a["region"] == "eu")
    _, cache, _ = signed_in(sim, world, slug="eu", username=eu_agent)
    customer = active_customer(us)
    # The EU app at a US customer: the EU agent is not in that tenant.
    eu = region_of(world, "eu")
    there = msal_app(sim, eu, customer["tenant_id"], cache=cache)

    result = there.acquire_token_silent_with_error(GRAPH_DEFAULT, account=there.get_accounts()[0])

    assert result["error"] == "invalid_grant" and result["error_codes"] == [50020]


def test_an_unknown_user_on_the_sign_in_page_is_aadsts50034(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reference-error-codes (50034)."""
    us = region_of(world)
    redirect_uris_add(sim, "us", REDIRECT_URI)
    app = msal_app(sim, us, us["partner_tenant_id"])
    flow = app.initiate_auth_code_flow(GRAPH_DEFAULT, redirect_uri=REDIRECT_URI)

    page = sign_in(flow["auth_uri"], "nobody@contosopartners.com", "x")

    assert page.status_code == 200 and "AADSTS50034" in page.text


def test_msal_with_an_unregistered_redirect_uri_gets_aadsts50011(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reply-url (AADSTS50011): shown by
    Entra on its page, never redirected to."""
    us = region_of(world)
    app = msal_app(sim, us, us["partner_tenant_id"])
    flow = app.initiate_auth_code_flow(GRAPH_DEFAULT, redirect_uri="http://127.0.0.1:8000/x/")

    page = sim.new_session().get(flow["auth_uri"], allow_redirects=False, timeout=10)

    assert page.status_code != 302 and "AADSTS50011" in page.text
