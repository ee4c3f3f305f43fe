"""Helpers of the identity fidelity tests: MSAL exactly as a client builds it, against the
session's simulator (tests/conftest.py `sim`; `world` restores the seed after each test)."""

from __future__ import annotations

from typing import Any

import jwt
import msal

from tests.simharness import Simulator
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

__all__ = [
    "AGENT",
    "GRAPH_DEFAULT",
    "REDIRECT_URI",
    "active_customer",
    "claims_of",
    "expired_customer",
    "header_of",
    "msal_app",
    "query_of",
    "redirect_uris_add",
    "region_of",
    "sign_in",
    "signed_in",
]

AGENT = "agent@contosopartners.com"


def region_of(world: dict[str, Any], slug: str = "us") -> dict[str, Any]:
    return next(r for r in world["regions"] if r["slug"] == slug)


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


def redirect_uris_add(sim: Simulator, slug: str, *uris: str) -> list[str]:
    """Register redirect URIs on the region's app, as an admin does in the app registration."""
    answer = sim._call(
        "POST", f"/_sim/regions/{slug}/app/redirect-uris", {"redirect_uris": list(uris)}
    )
    return answer["redirect_uris"]


def signed_in(
    sim: Simulator,
    world: dict[str, Any],
    *,
    slug: str = "us",
    username: str = AGENT,
    cache: msal.TokenCache | None = None,
) -> tuple[msal.ConfidentialClientApplication, msal.TokenCache, dict[str, Any]]:
    """MSAL's auth code flow (PKCE) at the region's partner tenant: (app, cache, result)."""
    region = region_of(world, slug)
    redirect_uris_add(sim, slug, REDIRECT_URI)
    cache = cache or msal.SerializableTokenCache()
    app = msal_app(sim, region, region["partner_tenant_id"], cache=cache)
    flow = app.initiate_auth_code_flow(
        GRAPH_DEFAULT, redirect_uri=REDIRECT_URI, login_hint=username
    )
    response = sign_in(flow["auth_uri"], username, agent(world, username)["password"])
    return app, cache, app.acquire_token_by_auth_code_flow(flow, query_of(response))
