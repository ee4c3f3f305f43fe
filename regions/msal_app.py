"""The region's partner-managed app as an MSAL confidential client, and its sign-in flow.

Only the Microsoft access seam (`regions.clients`, `regions.token_caches`) and sign-in use
this module; everything else asks `regions.clients` for a ready client.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

from mscloud.errors import ErrorKind
from mscloud.http import HttpSession, shared_session
from mscloud.identity import (
    AppCredentials,
    ConfidentialApp,
    IdentityError,
    InteractionRequired,
    SerializableTokenCache,
    TokenCache,
    confidential_app,
)
from portal import crypto
from regions import token_caches
from regions.models import Region


def credentials(region: Region) -> AppCredentials:
    """The region's app id and the credential in use (secret or certificate); a credential
    that no configured key decrypts is an IdentityError with a sentence, never a 500."""
    try:
        return _credentials(region)
    except crypto.InvalidToken:
        raise IdentityError(
            "credential_unreadable",
            f"The stored credential of region {region.slug} cannot be decrypted with the "
            "configured PORTAL_ENCRYPTION_KEYS (its key was removed): an admin enters the "
            "client secret or certificate key again.",
            kind=ErrorKind.TOKEN_REFUSED,
        ) from None


def _credentials(region: Region) -> AppCredentials:
    if region.uses_certificate:
        return AppCredentials(
            login_host=region.login_host,
            client_id=str(region.client_id),
            private_key=region.certificate_private_key,
            certificate=region.certificate_pem,
            thumbprint=region.certificate_thumbprint,
        )
    return AppCredentials(
        login_host=region.login_host,
        client_id=str(region.client_id),
        client_secret=region.client_secret,
    )


def region_session(region: Region) -> HttpSession:
    """The pooled HTTP session for the region's Microsoft calls: its CA bundle, no redirects,
    and (unless MICROSOFT_ALLOW_PRIVATE_HOSTS, dev and tests) public https hosts only."""
    return shared_session(
        region.tls_verify,
        allow_private_hosts=settings.MICROSOFT_ALLOW_PRIVATE_HOSTS,
        require_https=settings.MICROSOFT_REQUIRE_HTTPS,
        # A connection for each thread that calls Microsoft at once (sweeps and syncs fan out).
        pool_size=max(20, settings.COMPLIANCE_CONCURRENCY, settings.CUSTOMER_SYNC_CONCURRENCY),
    )


def region_app(
    region: Region,
    *,
    tenant: str | None = None,
    token_cache: TokenCache | None = None,
    http_cache: dict | None = None,
) -> ConfidentialApp:
    """The region's app with authority = `tenant` (default: the partner tenant)."""
    return confidential_app(
        credentials(region),
        tenant=str(tenant or region.partner_tenant_id),
        session=region_session(region),
        token_cache=token_cache,
        http_cache=http_cache,
    )


def signin_flow_start(
    *, region: Region, tenant: str | None, redirect_uri: str, login_hint: str
) -> dict:
    """Start MSAL's auth code flow (PKCE, state, nonce) at `tenant` (default: the partner
    tenant). The flow dict holds the verifier and nonce: keep it server-side."""
    return region_app(region, tenant=tenant).auth_code_flow_start(
        scopes=region.graph_scopes, redirect_uri=redirect_uri, login_hint=login_hint
    )


@dataclass
class SignInTokens:
    """What redeeming a sign-in code gave: the ID token's claims now, the tokens only when
    the caller has checked the claims and calls `keep`."""

    claims: dict
    partner_signin: bool
    _cache: SerializableTokenCache = field(repr=False)

    def keep(self, session: SessionBase) -> None:
        """Store the tokens in the session's encrypted cache; a partner sign-in also makes
        its account the one the session's delegated tokens are for."""
        if self.partner_signin:
            token_caches.session_account_set(session, f"{self.claims['oid']}.{self.claims['tid']}")
        token_caches.session_cache_save(session, self._cache)


def signin_code_redeem(
    *,
    region: Region,
    flow: dict,
    params: dict[str, str],
    tenant: str | None = None,
    session: SessionBase | None = None,
) -> SignInTokens:
    """Redeem the authorization code of `flow`. `tenant` set: a customer-tenant sign-in of
    the agent signed in to `session`, added to that session's tokens; else a partner sign-in
    into a new cache (the session does not belong to the user yet). Raises IdentityError."""
    partner = tenant is None or session is None
    cache = SerializableTokenCache() if partner else token_caches.session_cache_load(session)
    app = region_app(region, tenant=tenant, token_cache=cache)
    result = app.auth_code_flow_redeem(flow, params)
    return SignInTokens(
        claims=result.get("id_token_claims") or {}, partner_signin=partner, _cache=cache
    )


def signin_refresh(*, region: Region, session: SessionBase) -> dict:
    """Redeem the session's refresh token at the region's partner tenant, skipping every
    cached access token, and return the claims of the new ID token (MSAL always asks for
    `openid`, so Entra answers a refresh-token grant with an ID token carrying the current
    `roles`). The session's cache keeps the new tokens. Raises IdentityError
    (InteractionRequired when the session holds no account or its grant is dead).

    # Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token
    """
    cache = token_caches.session_cache_load(session)
    home_account_id = token_caches.session_account(session)
    if not home_account_id:
        raise InteractionRequired("no_account", "The session holds no signed-in account.")
    try:
        app = region_app(region, token_cache=cache)
        result = app.token_silent(
            scopes=region.graph_scopes, home_account_id=home_account_id, force_refresh=True
        )
    finally:
        token_caches.session_cache_save(session, cache)
    return result.get("id_token_claims") or {}
