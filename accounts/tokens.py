"""Access tokens for Graph: delegated (the agent's session) and app-only (background work)."""

from __future__ import annotations

import threading

import msal
from django.contrib.sessions.backends.base import SessionBase

from accounts import tokencache
from accounts.identity import region_app
from mscloud.identity import (
    InteractionRequired,
    acquire_for_client,
    acquire_silent,
    forget_refusals,
)
from regions.models import Region

HOME_ACCOUNT_KEY = "_home_account_id"


def delegated_token(
    *, session: SessionBase, region: Region, tenant_id: str, force_refresh: bool = False
) -> str:
    """A Graph token for `tenant_id` from the session's cache, redeeming the refresh token
    at the customer tenant's authority when needed (DAP/GDAP). Raises InteractionRequired.

    `force_refresh` skips the cached access token (Graph said 401: it was revoked or expired
    early) and redeems the refresh token once."""
    home_account_id = session.get(HOME_ACCOUNT_KEY)
    if not home_account_id:
        raise InteractionRequired("no_account", "The session holds no signed-in account.")
    cache = tokencache.load(session)
    try:
        app = region_app(region, tenant=tenant_id, token_cache=cache)
        result = acquire_silent(
            app,
            scopes=region.graph_scopes,
            home_account_id=home_account_id,
            force_refresh=force_refresh,
        )
    finally:
        tokencache.save(session, cache)
    return result["access_token"]


# App-only tokens are shared by every task in the process, cached per (region, tenant): MSAL's
# remove_tokens_for_client() clears a whole cache, and a retry must drop one tenant's token only.
_app_state: dict[tuple[int, str], tuple[msal.TokenCache, dict]] = {}
_app_state_lock = threading.Lock()


def _app(region: Region, tenant_id: str | None) -> msal.ConfidentialClientApplication:
    tenant = str(tenant_id or region.partner_tenant_id)
    with _app_state_lock:
        cache, http_cache = _app_state.setdefault((region.pk, tenant), (msal.TokenCache(), {}))
    return region_app(region, tenant=tenant, token_cache=cache, http_cache=http_cache)


def app_token(
    *, region: Region, tenant_id: str | None = None, scopes: list[str] | None = None
) -> str:
    """Client-credentials token of the region's app for `tenant_id` (default: partner tenant)."""
    app = _app(region, tenant_id)
    return acquire_for_client(app, scopes=scopes or region.graph_scopes)["access_token"]


def app_token_drop(*, region: Region, tenant_id: str) -> None:
    """Forget the tenant's cached app token and MSAL's remembered refusal, so the next call
    gets a genuinely new token from Entra."""
    _app(region, tenant_id).remove_tokens_for_client()
    with _app_state_lock:
        _, http_cache = _app_state[(region.pk, str(tenant_id))]
    forget_refusals(http_cache)
