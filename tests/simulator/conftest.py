"""One simulator subprocess for the whole module set; the seed is restored after each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msal
import pytest
import requests

from tests.simharness import Simulator

REDIRECT_URI = "http://127.0.0.1:8000/auth/callback/"
GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]


@pytest.fixture(scope="session")
def sim() -> Iterator[Simulator]:
    simulator = Simulator()
    yield simulator
    simulator.stop()


def register_redirect_uri(sim: Simulator, uri: str = REDIRECT_URI) -> None:
    """Register `uri` on every region's app, as the portal's admin does (Entra answers
    AADSTS50011 for a redirect URI the app does not have)."""
    for region in sim.info()["regions"]:
        sim._call(
            "POST", f"/_sim/regions/{region['slug']}/app/redirect-uris", {"redirect_uris": [uri]}
        )


@pytest.fixture(autouse=True)
def _fresh_seed(sim: Simulator) -> Iterator[None]:
    register_redirect_uri(sim)
    yield
    sim.reset()


@pytest.fixture
def world(sim: Simulator) -> dict[str, Any]:
    return sim.info()


@pytest.fixture
def us(world: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in world["regions"] if r["slug"] == "us")


@pytest.fixture
def eu(world: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in world["regions"] if r["slug"] == "eu")


def active_customer(region: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in region["customers"] if c["relationship"]["status"] == "active")


def expired_customer(region: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in region["customers"] if c["relationship"]["status"] == "expired")


def agent(world: dict[str, Any], username: str) -> dict[str, Any]:
    return next(a for a in world["agents"] if a["username"] == username)


def msal_app(
    sim: Simulator,
    region: dict[str, Any],
    tenant: str,
    *,
    cache: msal.TokenCache | None = None,
    secret: str | None = None,
) -> msal.ConfidentialClientApplication:
    """MSAL exactly as the portal builds it: our authority host, an explicit CA session."""
    return msal.ConfidentialClientApplication(
        region["app"]["client_id"],
        client_credential=secret or region["app"]["client_secret"],
        authority=f"{sim.base_url}/{tenant}",
        instance_discovery=False,
        http_client=sim.new_session(),
        token_cache=cache,
    )


def browser() -> requests.Session:
    """A 'browser' for the plain-HTTP sign-in pages (no CA involved)."""
    session = requests.Session()
    session.trust_env = False
    return session


def sign_in(
    auth_uri: str, username: str, password: str, *, session: requests.Session | None = None
) -> requests.Response:
    """GET the sign-in page and POST the form back, like a user would; no redirect follow."""
    session = session or browser()
    page = session.get(auth_uri, allow_redirects=False, timeout=10)
    if page.status_code == 302:
        return page  # single sign-on: no form
    assert page.status_code == 200, page.text
    return session.post(
        auth_uri,
        data={"login": username, "passwd": password},
        allow_redirects=False,
        timeout=10,
    )


def query_of(response: requests.Response) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    assert response.status_code == 302, response.text
    return dict(parse_qsl(urlsplit(response.headers["Location"]).query))
