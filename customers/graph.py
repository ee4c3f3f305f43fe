"""Graph clients for a customer tenant: as the signed-in agent, or as the region's app."""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

from accounts.tokens import app_token, app_token_drop, delegated_token
from mscloud.graph import GraphClient
from mscloud.http import shared_session
from regions.models import Region


def graph_client(region: Region, *, token, on_unauthorized=None) -> GraphClient:
    """A Graph client for the region's Graph with the portal's timeouts and retry budget."""
    return GraphClient(
        base_url=region.graph_base_url,
        token=token,
        session=shared_session(region.tls_verify),
        timeout=settings.GRAPH_TIMEOUT,
        max_attempts=settings.GRAPH_MAX_ATTEMPTS,
        max_retry_after=settings.GRAPH_MAX_RETRY_AFTER,
        on_unauthorized=on_unauthorized,
    )


def graph_as_agent(*, session: SessionBase, region: Region, tenant_id: str) -> GraphClient:
    """Delegated: the agent's token for the customer tenant (DAP/GDAP), from the session."""

    def token() -> str:
        return delegated_token(session=session, region=region, tenant_id=tenant_id)

    def refreshed() -> str:
        # Graph said 401: redeem the refresh token once; a second 401 is the caller's error.
        return delegated_token(
            session=session, region=region, tenant_id=tenant_id, force_refresh=True
        )

    return graph_client(region, token=token, on_unauthorized=refreshed)


def graph_as_app(*, region: Region, tenant_id: str | None = None) -> GraphClient:
    """App-only: the region's partner-managed app in `tenant_id` (default: partner tenant)."""
    tenant = str(tenant_id or region.partner_tenant_id)

    def token() -> str:
        return app_token(region=region, tenant_id=tenant)

    def renewed() -> str:
        # Graph said 401: the cached app token was revoked or expired early; ask for a new one.
        app_token_drop(region=region, tenant_id=tenant)
        return token()

    return graph_client(region, token=token, on_unauthorized=renewed)
