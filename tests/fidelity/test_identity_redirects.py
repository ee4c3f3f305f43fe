"""Redirect URIs registered per app (point 7), as Microsoft documents them: an unregistered
redirect_uri is AADSTS50011, the path is compared exactly, the port is ignored only for
loopback; the demo registers the portal's callback."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest
from django.core.management import call_command

from tests.fidelity.identity import (
    AGENT,
    GRAPH_DEFAULT,
    msal_app,
    redirect_uris_add,
    region_of,
    sign_in,
)


def _authorize(sim, region, redirect_uri: str):
    params = {
        "client_id": region["app"]["client_id"],
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": "openid https://graph.microsoft.com/.default",
        "state": "s",
    }
    tenant = region["partner_tenant_id"]
    url = f"{sim.http_base}/{tenant}/oauth2/v2.0/authorize?{urlencode(params)}"
    return sim.new_session().get(url, allow_redirects=False, timeout=10)


def _refused_with_50011(response) -> bool:
    return response.status_code != 302 and "AADSTS50011" in response.text


def test_a_redirect_uri_the_app_does_not_have_is_aadsts50011_even_on_loopback(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reply-url — Entra redirects only
    to a URI added to the app registration (AADSTS50011 otherwise), loopback included."""
    us = region_of(world)
    redirect_uris_add(sim, "us", "http://127.0.0.1/auth/callback/")

    answer = _authorize(sim, us, "http://127.0.0.1:8000/somewhere/else/")

    assert _refused_with_50011(answer)
    assert "Location" not in answer.headers


def test_the_path_of_a_redirect_uri_is_compared_exactly(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reply-url — "Redirect URIs are
    case-sensitive and must match the case of the URL path"."""
    us = region_of(world)
    redirect_uris_add(sim, "us", "http://127.0.0.1/auth/callback/")

    assert _refused_with_50011(_authorize(sim, us, "http://127.0.0.1:8000/Auth/Callback/"))
    assert _refused_with_50011(_authorize(sim, us, "http://127.0.0.1:8000/auth/callback"))
    assert _authorize(sim, us, "http://127.0.0.1:8000/auth/callback/").status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_port_is_ignored_for_a_loopback_redirect_uri(sim, world, host):
    """https://learn.microsoft.com/entra/identity-platform/reply-url (localhost exceptions:
    the port of a loopback redirect URI is ignored, RFC 8252 7.3)."""
    us = region_of(world)
    redirect_uris_add(sim, "us", f"http://{host}/auth/callback/")
    app = msal_app(sim, us, us["partner_tenant_id"])
    flow = app.initiate_auth_code_flow(
        GRAPH_DEFAULT, redirect_uri=f"http://{host}:51004/auth/callback/", login_hint=AGENT
    )
    password = next(a["password"] for a in world["agents"] if a["username"] == AGENT)

    answer = sign_in(flow["auth_uri"], AGENT, password)

    location = urlsplit(answer.headers["Location"])
    assert (location.hostname, location.port, location.path) == (host, 51004, "/auth/callback/")


def test_the_port_of_a_non_loopback_redirect_uri_must_match(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reply-url — only loopback URIs
    get the port exception; https://portal.example:8443 is another URI."""
    us = region_of(world)
    redirect_uris_add(sim, "us", "https://portal.example/auth/callback/")

    assert _authorize(sim, us, "https://portal.example/auth/callback/").status_code == 200
    assert _refused_with_50011(_authorize(sim, us, "https://portal.example:8443/auth/callback/"))


def test_an_http_redirect_uri_outside_loopback_cannot_be_registered(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/reply-url — redirect URIs must be
    https, except for localhost."""
    response = sim.session.post(
        f"{sim.base_url}/_sim/regions/us/app/redirect-uris",
        json={"redirect_uris": ["http://portal.example/auth/callback/"]},
        timeout=10,
    )

    assert response.status_code == 400


def test_the_demo_registers_the_portals_callback_on_every_regions_app(sim, world, db):
    """https://learn.microsoft.com/entra/identity-platform/reply-url — the portal's callback
    must be a registered redirect URI of each region's app; configure_demo_regions adds it,
    for loopback (any port: the test client's http://localhost, a live server's random one)
    and for an origin given with --portal-url."""
    call_command(
        "configure_demo_regions",
        sim=sim.base_url,
        ca=sim.ca,
        portal_urls=["http://localhost", "http://127.0.0.1", "https://portal.example"],
        stdout=None,
    )

    for region in sim.info()["regions"]:
        assert set(region["app"]["redirect_uris"]) >= {
            "http://localhost/auth/callback/",
            "http://127.0.0.1/auth/callback/",
            "https://portal.example/auth/callback/",
        }
