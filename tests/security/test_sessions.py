"""Session lifetime: idle and absolute timeouts, and sign-out that really ends the session."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from accounts import sessionclock

pytestmark = pytest.mark.django_db

AGENT = "agent@contosopartners.com"


class FrozenClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    frozen = FrozenClock(1_900_000_000.0)
    monkeypatch.setattr(sessionclock, "now", frozen.time)
    return frozen


def test_an_idle_session_is_signed_out(settings, clock, sign_in):
    settings.SESSION_IDLE_TIMEOUT = 600
    client = sign_in(AGENT)
    assert client.get("/customers/").status_code == 200
    clock.now += 590
    assert client.get("/customers/").status_code == 200
    clock.now += 590  # activity 590 s ago: still inside the idle window
    assert client.get("/customers/").status_code == 200
    clock.now += 601
    response = client.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")
    assert client.get("/customers/").status_code == 302


def test_a_busy_session_still_ends_at_the_absolute_timeout(settings, clock, sign_in):
    settings.SESSION_IDLE_TIMEOUT = 600
    settings.SESSION_ABSOLUTE_TIMEOUT = 3600
    client = sign_in(AGENT)
    for _ in range(7):  # a request every 500 s, up to 3,500 s after sign-in
        clock.now += 500
        assert client.get("/customers/").status_code == 200
    clock.now += 200  # 3,700 s after sign-in, only 200 s idle
    response = client.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")


def test_a_session_cookie_replayed_after_sign_out_is_worthless(sign_in):
    client = sign_in(AGENT)
    cookie = client.cookies["portal_session"].value
    assert client.post("/signout/").status_code == 302  # on to Microsoft's sign-out
    assert not Session.objects.filter(session_key=cookie).exists()
    replay = Client(HTTP_HOST="localhost")
    replay.cookies["portal_session"] = cookie
    response = replay.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")


def test_signed_in_pages_are_not_cached_and_cookies_are_http_only(sign_in):
    client = sign_in(AGENT)
    response = client.get("/customers/")
    assert response["Cache-Control"] == "no-store"
    morsel = client.cookies["portal_session"]
    assert morsel["httponly"] and morsel["samesite"] == "Lax"


# --------------------------------------------------------------------------- Microsoft decides
# Entra's answers to a dead grant: AADSTS50173 (revoked: revokeSignInSessions or a password
# change), 70008 / 700082 (expired). The simulator answers 50173 after `agent_revoke`.
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
# Reference: https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions

MANAGER = "manager@contosopartners.com"
ADMIN = "admin@contosopartners.com"


def _token_requests(sim) -> int:
    return sim.requests()["counters"].get("token", 0)


def _ended(reason_part: str) -> bool:
    from audit.models import AuditEvent

    return any(
        reason_part in str(e.detail.get("reason", ""))
        for e in AuditEvent.objects.filter(action="session.ended")
    )


def test_a_revoked_grant_ends_the_session_at_the_next_recheck(settings, clock, sim, sign_in):
    settings.SESSION_RECHECK_SECONDS = 900
    client = sign_in(AGENT)
    key = client.session.session_key
    sim.agent_revoke(AGENT)
    clock.now += 899  # not due yet: no call to Microsoft, the page as before
    before = _token_requests(sim)
    assert client.get("/customers/").status_code == 200
    assert _token_requests(sim) == before
    clock.now += 2
    response = client.get("/customers/?q=x")
    assert response.status_code == 302
    assert response["Location"] == "/signin/?next=/customers/%3Fq%3Dx"
    assert _token_requests(sim) == before + 1
    assert not Session.objects.filter(session_key=key).exists()
    assert _ended("AADSTS50173")
    page = client.get(response["Location"]).content.decode()
    assert "Microsoft no longer accepts your sign-in" in page


def test_a_live_grant_passes_the_recheck_once_per_interval(settings, clock, sim, sign_in):
    settings.SESSION_RECHECK_SECONDS = 900
    client = sign_in(AGENT)
    clock.now += 901
    before = _token_requests(sim)
    for _ in range(3):
        assert client.get("/customers/").status_code == 200
    assert _token_requests(sim) == before + 1  # one partner-tenant redemption, then quiet


def test_a_removed_app_role_takes_effect_at_the_next_recheck(settings, clock, sim, sign_in):
    settings.SESSION_RECHECK_SECONDS = 900
    client = sign_in(AGENT)
    sim.agent_roles(AGENT, [])
    assert client.get("/customers/").status_code == 200  # roles are read at sign-in …
    clock.now += 901
    response = client.get("/customers/")  # … and again at the re-check
    assert response.status_code == 403
    assert b'data-testid="no-access"' in response.content
    # Without a role the session keeps no token of theirs.
    assert "_msal_cache" not in client.session


def test_a_lowered_app_role_is_refused_manager_pages_at_the_next_recheck(
    settings, clock, sim, sign_in
):
    settings.SESSION_RECHECK_SECONDS = 900
    client = sign_in(MANAGER)
    assert client.get("/compliance/").status_code == 200
    sim.agent_roles(MANAGER, ["Portal.Agent"])
    clock.now += 901
    assert client.get("/compliance/").status_code == 403
    assert client.get("/customers/").status_code == 200


def test_microsoft_unreachable_at_the_recheck_keeps_the_session_and_asks_again_later(
    settings, clock, sim, sign_in, regions
):
    settings.SESSION_RECHECK_SECONDS = 900
    settings.SESSION_RECHECK_RETRY_SECONDS = 60
    client = sign_in(AGENT)
    region = regions["us"]
    login_host = region.login_host
    region.login_host = "https://127.0.0.1:9"  # nothing listens on the discard port
    region.save()
    clock.now += 901
    response = client.get("/customers/")
    assert response.status_code == 200
    assert b"signed you out" not in response.content
    region.login_host = login_host
    region.save()
    sim.agent_revoke(AGENT)
    clock.now += 30  # inside the back-off: not asked again
    before = _token_requests(sim)
    assert client.get("/customers/").status_code == 200
    assert _token_requests(sim) == before
    clock.now += 31  # after it: asked, and Entra's verdict applies
    assert client.get("/customers/")["Location"].startswith("/signin/")


def test_an_admin_sign_in_ends_sooner_than_an_agent_sign_in(settings, clock, sign_in):
    settings.SESSION_IDLE_TIMEOUT = 10_000
    settings.SESSION_RECHECK_SECONDS = 100_000
    settings.SESSION_ABSOLUTE_TIMEOUT = 8 * 3600
    settings.SESSION_ADMIN_ABSOLUTE_TIMEOUT = 2 * 3600
    admin, agent = sign_in(ADMIN), sign_in(AGENT)
    clock.now += 2 * 3600 + 1
    assert admin.get("/customers/")["Location"].startswith("/signin/")
    assert agent.get("/customers/").status_code == 200
    assert _ended("absolute")


def test_a_customer_only_refusal_keeps_the_session(sim, sign_in, world, customers):
    # AADSTS50076 (MFA) at one customer is that tenant's business: its /authorize, as before.
    customer = next(c for c in customers["us"] if c.relationship_status == "active")
    tid = str(customer.tenant_id)
    client = sign_in(AGENT)
    sim.faults(tenant=tid, interaction_required=True)
    response = client.get(f"/customers/{tid}/users/")
    assert response.status_code == 302
    assert f"/{tid}/oauth2/v2.0/authorize" in response["Location"]
    assert client.get("/customers/").status_code == 200


# --------------------------------------------------------------------------- two browsers


def test_two_browsers_of_one_user_both_stay_signed_in(sign_in):
    first = sign_in(AGENT)
    second = sign_in(AGENT)
    assert first.get("/customers/").status_code == 200
    assert second.get("/customers/").status_code == 200
    assert first.session.session_key != second.session.session_key


def test_a_sign_in_without_a_role_keeps_no_token_cache(sign_in):
    client = sign_in("norole@contosopartners.com")
    session = client.session
    assert "_msal_cache" not in session and "_home_account_id" not in session


def test_signed_in_admins_are_staff_and_nobody_is_a_superuser(sign_in):
    from accounts.models import User

    sign_in(ADMIN)
    sign_in(AGENT)
    admin = User.objects.get(upn=ADMIN)
    agent = User.objects.get(upn=AGENT)
    assert (admin.is_staff, admin.is_superuser) == (True, False)
    assert (agent.is_staff, agent.is_superuser) == (False, False)


# --------------------------------------------------------------------------- htmx


def test_an_expired_session_in_htmx_gets_hx_redirect(portal_client):
    response = portal_client.get(
        "/customers/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://localhost/customers/?q=contoso",
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == "/signin/?next=/customers/%3Fq%3Dcontoso"
    assert b"signin-form" not in response.content


def test_an_htmx_page_of_another_site_is_not_a_next(portal_client):
    response = portal_client.get(
        "/customers/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="https://evil.example/x"
    )
    assert response["HX-Redirect"] == "/signin/?next=/"


def test_an_idle_session_in_htmx_gets_hx_redirect(settings, clock, sign_in):
    settings.SESSION_IDLE_TIMEOUT = 600
    client = sign_in(AGENT)
    clock.now += 601
    response = client.get(
        "/customers/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://localhost/customers/"
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == "/signin/?next=/customers/"


# --------------------------------------------------------------------------- sign-out


def _browser():
    import requests

    browser = requests.Session()
    browser.trust_env = False
    return browser


def _browser_sign_in(client, browser, world, username=AGENT):
    """Sign in as a browser does: the simulator keeps its SSO cookie in `browser`. Returns
    whether the simulator asked for credentials."""
    from tests.conftest import callback_path, password_of

    start = client.post("/signin/", {"username": username})
    page = browser.get(start["Location"], allow_redirects=False, timeout=10)
    asked = page.status_code == 200
    if asked:
        page = browser.post(
            start["Location"],
            data={"login": username, "passwd": password_of(world, username)},
            allow_redirects=False,
            timeout=10,
        )
    assert page.status_code == 302, page.text[:300]
    assert client.get(callback_path(page.headers["Location"])).status_code == 302
    return asked


def test_sign_out_ends_the_microsoft_session_so_continue_asks_again(world, regions):
    client, browser = Client(HTTP_HOST="localhost"), _browser()
    assert _browser_sign_in(client, browser, world) is True
    # Control: Microsoft's session signs the same browser in again without asking.
    assert _browser_sign_in(Client(HTTP_HOST="localhost"), browser, world) is False
    response = client.post("/signout/")
    assert response.status_code == 302
    location = response["Location"]
    assert "/oauth2/v2.0/logout?post_logout_redirect_uri=" in location
    back = browser.get(location, allow_redirects=False, timeout=10)
    assert back.status_code == 302
    assert back.headers["Location"] == "http://localhost/signed-out/"
    assert client.get("/signed-out/").status_code == 200
    assert _browser_sign_in(Client(HTTP_HOST="localhost"), browser, world) is True


def test_sign_out_without_microsoft_still_signs_out_and_says_so(sign_in, regions):
    client = sign_in(AGENT)
    key = client.session.session_key
    region = regions["us"]
    region.login_host = "https://127.0.0.1:9"
    region.save()
    response = client.post("/signout/")
    assert response.status_code == 200
    assert b'data-testid="microsoft-remains"' in response.content
    assert not Session.objects.filter(session_key=key).exists()
