"""Sign-in end to end against the simulator: MSAL auth code flow with PKCE, state and nonce."""

from __future__ import annotations

import json

import pytest
from django.contrib.sessions.models import Session

from accounts.models import Role, User
from audit.models import AuditEvent
from regions import token_caches
from tests.conftest import callback_path, idp_sign_in, password_of, query

pytestmark = pytest.mark.django_db

AGENT = "agent@contosopartners.com"


def _start(client, username=AGENT):
    response = client.post("/signin/", {"username": username})
    assert response.status_code == 302
    return response["Location"]


def test_the_username_domain_picks_the_region_and_its_partner_tenant(portal_client, regions):
    auth_uri = _start(portal_client, "agent@contosopartners.eu")
    params = query(auth_uri)
    assert str(regions["eu"].partner_tenant_id) in auth_uri
    assert params["client_id"] == str(regions["eu"].client_id)
    assert params["login_hint"] == "agent@contosopartners.eu"
    assert params["code_challenge_method"] == "S256"
    assert params["state"] and params["nonce"] and params["code_challenge"]


def test_an_agent_signs_in_and_is_keyed_on_tenant_and_object_id(sign_in, regions, world):
    client = sign_in(AGENT)
    user = User.objects.get(upn=AGENT)
    assert user.tenant_id == regions["us"].partner_tenant_id
    assert user.object_id is not None
    assert user.role == Role.AGENT
    assert user.region == regions["us"]
    assert client.get("/customers/").status_code == 200
    assert AuditEvent.objects.filter(action="signin", user=user).exists()


def test_each_app_role_maps_to_its_portal_role(sign_in):
    for name, role in [("manager", Role.MANAGER), ("admin", Role.ADMIN), ("norole", Role.NONE)]:
        sign_in(f"{name}@contosopartners.com")
        assert User.objects.get(upn=f"{name}@contosopartners.com").role == role


def test_signing_in_cycles_the_session_key(portal_client, world, regions):
    portal_client.get("/signin/")
    auth_uri = _start(portal_client)
    before = portal_client.session.session_key
    location = idp_sign_in(auth_uri, AGENT, password_of(world, AGENT))
    portal_client.get(callback_path(location))
    assert portal_client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()


def test_the_session_keeps_an_encrypted_token_cache(sign_in):
    client = sign_in(AGENT)
    blob = client.session[token_caches.SESSION_KEY]
    cache = json.loads(token_caches.session_cache_load(client.session).serialize())
    secrets = [
        v["secret"] for kind in ("RefreshToken", "AccessToken") for v in cache[kind].values()
    ]
    assert secrets and not any(secret in blob for secret in secrets)
    assert "RefreshToken" not in blob


def test_a_tampered_state_is_refused_without_a_session(portal_client, world, regions):
    location = idp_sign_in(_start(portal_client), AGENT, password_of(world, AGENT))
    tampered = callback_path(location).replace("state=", "state=x")
    response = portal_client.get(tampered)
    assert response.status_code == 400
    assert b"does not belong to a sign-in started here" in response.content
    assert "_auth_user_id" not in portal_client.session


def test_a_replayed_code_is_refused(portal_client, world, regions, sign_in):
    location = idp_sign_in(_start(portal_client), AGENT, password_of(world, AGENT))
    assert portal_client.get(callback_path(location)).status_code == 302
    # A second sign-in in another browser, fed the first code with its own valid state.
    other = type(portal_client)(HTTP_HOST="localhost")
    fresh = query(idp_sign_in(_start(other), AGENT, password_of(world, AGENT)))
    replay = f"/auth/callback/?code={query(location)['code']}&state={fresh['state']}"
    response = other.get(replay)
    assert response.status_code == 400
    assert b"refused" in response.content
    assert "_auth_user_id" not in other.session


def test_a_wrong_pkce_verifier_is_refused(portal_client, world, regions):
    location = idp_sign_in(_start(portal_client), AGENT, password_of(world, AGENT))
    session = portal_client.session
    flows = session["_auth_flows"]
    (pending,) = flows.values()
    pending["flow"]["code_verifier"] = "A" * 64
    session["_auth_flows"] = flows
    session.save()
    response = portal_client.get(callback_path(location))
    assert response.status_code == 400
    assert b"refused" in response.content
    assert "_auth_user_id" not in portal_client.session


def test_an_id_token_from_another_tenant_is_refused(sim, portal_client, world, regions):
    # The authority mis-issues the ID token with the EU partner tenant's tid.
    us, eu = regions["us"], regions["eu"]
    sim.faults(tenant=str(us.partner_tenant_id), id_token_tid=str(eu.partner_tenant_id))
    location = idp_sign_in(_start(portal_client), AGENT, password_of(world, AGENT))
    response = portal_client.get(callback_path(location))
    assert response.status_code == 400
    assert "does not belong to the United States partner tenant" in response.content.decode()
    assert "_auth_user_id" not in portal_client.session
    assert not User.objects.filter(upn=AGENT).exists()
    assert AuditEvent.objects.filter(action="signin.rejected").exists()


def test_an_error_from_the_authority_is_shown_escaped(portal_client, regions):
    _start(portal_client)
    (state,) = portal_client.session["_auth_flows"]
    response = portal_client.get(
        "/auth/callback/",
        {
            "error": "access_denied",
            "error_description": "<script>alert(1)</script>",
            "state": state,
        },
    )
    assert response.status_code == 400
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;" in response.content


def test_next_survives_sign_in_only_when_it_is_a_local_path(portal_client, world, regions):
    response = portal_client.post(
        "/signin/", {"username": AGENT, "next": "//evil.example/customers/"}
    )
    location = idp_sign_in(response["Location"], AGENT, password_of(world, AGENT))
    assert portal_client.get(callback_path(location))["Location"] == "/"

    other = type(portal_client)(HTTP_HOST="localhost")
    response = other.post("/signin/", {"username": AGENT, "next": "/customers/?q=a"})
    location = idp_sign_in(response["Location"], AGENT, password_of(world, AGENT))
    assert other.get(callback_path(location))["Location"] == "/customers/?q=a"


def test_signing_out_deletes_the_session_and_its_tokens(sign_in):
    client = sign_in(AGENT)
    key = client.session.session_key
    response = client.post("/signout/")
    assert response.status_code == 302
    assert "/oauth2/v2.0/logout?post_logout_redirect_uri=" in response["Location"]
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get("/customers/").status_code == 302


def test_an_inactive_region_refuses_sign_in_with_a_message(portal_client, own_region):
    own_region.active = False
    own_region.save()
    response = portal_client.post("/signin/", {"username": AGENT})
    assert response.status_code == 400
    assert "switched off" in response.content.decode()


def test_a_forged_callback_neither_cancels_a_pending_sign_in_nor_shows_its_text(
    portal_client, world, regions
):
    auth_uri = _start(portal_client)
    forged = portal_client.get(
        "/auth/callback/", {"error": "access_denied", "error_description": "Call 555-0100"}
    )
    assert forged.status_code == 400
    assert "555-0100" not in forged.content.decode()
    location = idp_sign_in(auth_uri, AGENT, password_of(world, AGENT))
    assert portal_client.get(callback_path(location)).status_code == 302
    assert "_auth_user_id" in portal_client.session


def test_two_tabs_can_sign_in_at_once(portal_client, world, regions):
    first = _start(portal_client)
    second = _start(portal_client)
    done = portal_client.get(callback_path(idp_sign_in(second, AGENT, password_of(world, AGENT))))
    assert done.status_code == 302
    # The first tab's sign-in is still pending and completes too.
    again = portal_client.get(callback_path(idp_sign_in(first, AGENT, password_of(world, AGENT))))
    assert again.status_code == 302


def test_a_customer_tenant_sign_in_with_another_account_is_refused(sim, sign_in, world, customers):
    from regions import token_caches

    customer = next(c for c in customers["us"] if c.relationship_status == "active")
    tid = str(customer.tenant_id)
    client = sign_in(AGENT)
    sim.faults(tenant=tid, interaction_required=True)
    response = client.get(f"/customers/{tid}/users/")
    assert response.status_code == 302
    before = token_caches.session_cache_load(client.session).serialize()
    manager = "manager@contosopartners.com"
    location = idp_sign_in(
        response["Location"].replace("login_hint=agent", "login_hint=manager"),
        manager,
        password_of(world, manager),
    )
    refused = client.get(callback_path(location))
    assert refused.status_code == 400
    assert "different account" in refused.content.decode()
    assert token_caches.session_cache_load(client.session).serialize() == before


def test_an_id_token_with_another_nonce_is_refused(sim, portal_client, world, regions):
    sim.faults(tenant=str(regions["us"].partner_tenant_id), id_token_nonce="replayed-nonce")
    location = idp_sign_in(_start(portal_client), AGENT, password_of(world, AGENT))
    response = portal_client.get(callback_path(location))
    assert response.status_code == 400
    assert "failed its security checks" in response.content.decode()
    assert "_auth_user_id" not in portal_client.session
