"""The one place that turns a Region (+ a session, + a tenant) into a ready Microsoft client.

Graph as the agent (delegated, from the session's tokens), Graph as the app (client
credentials), Partner Center as the app or as the agent (App+User), and fresh tokens for
retries. It is the only reader of the GRAPH_* settings; the token caches are
`regions.token_caches`, the MSAL app `regions.msal_app`, a signed-in user's tokens lent to one
background run `regions.delegation`. Callers never build MSAL apps or HTTP sessions themselves.

# Reference: https://learn.microsoft.com/en-us/graph/auth-cloudsolutionprovider
# Reference: https://learn.microsoft.com/en-us/partner-center/developer/partner-center-authentication
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

from mscloud.errors import ErrorKind, MicrosoftError
from mscloud.graph import BatchRequest, GraphClient
from mscloud.identity import (
    InteractionRequired,
    SerializableTokenCache,
    TokenCache,
)
from mscloud.identity import openid_configuration as _openid_configuration
from mscloud.partnercenter import PartnerCenterClient
from regions import token_caches
from regions.models import Region
from regions.msal_app import region_app, region_session
from regions.permissions import GRAPH_APP_ID
from regions.throttle import SharedGate

# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class UserTokens:
    """Where one signed-in user's MSAL cache lives: the session, or a per-run grant
    (regions.delegation). `load(tenant_id)` gives the cache (at least what a token for that
    tenant needs) and the home account id; `save` writes the cache back (called always; it
    writes only when the cache changed)."""

    load: Callable[[str], tuple[SerializableTokenCache, str | None]]
    save: Callable[[SerializableTokenCache], None]


def session_tokens(session: SessionBase) -> UserTokens:
    """The session's tokens: per tenant, so parallel requests of one session keep each
    other's tokens (regions.token_caches)."""

    def load(tenant_id: str) -> tuple[SerializableTokenCache, str | None]:
        cache = token_caches.session_cache_load(session, tenant_id)
        return cache, token_caches.session_account(session)

    return UserTokens(load=load, save=lambda cache: token_caches.session_cache_save(session, cache))


class SessionTokensForThreads:
    """The session's tokens lent to worker threads of one request (a search across
    customers): every tenant's cache is read here, in the request's thread, before the
    threads start; the threads only talk HTTP; `save()` (the request's thread again) writes
    back what they changed. The ORM stays in one thread; each thread gets its own cache."""

    def __init__(self, session: SessionBase, tenant_ids: list[str]) -> None:
        self._session = session
        account = token_caches.session_account(session)
        self._caches = {
            str(t): token_caches.session_cache_load(session, str(t)) for t in tenant_ids
        }
        self._account = account

    def tokens(self, tenant_id: str) -> UserTokens:
        cache = self._caches[str(tenant_id)]
        return UserTokens(load=lambda _tenant: (cache, self._account), save=lambda _cache: None)

    def save(self) -> None:
        for cache in self._caches.values():
            token_caches.session_cache_save(self._session, cache)


def user_token(
    *,
    tokens: UserTokens,
    region: Region,
    tenant_id: str,
    scopes: list[str],
    force_refresh: bool = False,
    forget_refusals: bool = False,
) -> str:
    """A delegated token of the user for `scopes` at `tenant_id`'s authority, redeeming the
    refresh token there when needed (DAP/GDAP). Raises InteractionRequired / IdentityError.

    `force_refresh` skips the cached access token; `forget_refusals` also drops MSAL's
    60-second memory of this tenant's refusals and the account's access tokens there, so a
    request after a consent reaches Entra and later ones use the token it gave."""
    cache, home_account_id = tokens.load(str(tenant_id))
    if not home_account_id:
        raise InteractionRequired("no_account", "The session holds no signed-in account.")
    try:
        app = region_app(region, tenant=tenant_id, token_cache=cache)
        if forget_refusals:
            app.refusals_forget()
            app.access_tokens_forget(home_account_id=home_account_id)
        result = app.token_silent(
            scopes=scopes, home_account_id=home_account_id, force_refresh=force_refresh
        )
    finally:
        tokens.save(cache)
    return result["access_token"]


def delegated_token(
    *, session: SessionBase, region: Region, tenant_id: str, force_refresh: bool = False
) -> str:
    """A Graph token for `tenant_id` from the session's cache, redeeming the refresh token
    at the customer tenant's authority when needed (DAP/GDAP). Raises InteractionRequired.

    `force_refresh` skips the cached access token (Graph said 401: it was revoked or expired
    early) and redeems the refresh token once."""
    return user_token(
        tokens=session_tokens(session),
        region=region,
        tenant_id=tenant_id,
        scopes=region.graph_scopes,
        force_refresh=force_refresh,
    )


def _tenant(region: Region, tenant_id: str | None) -> str:
    return str(tenant_id or region.partner_tenant_id)


def app_token(
    *, region: Region, tenant_id: str | None = None, scopes: list[str] | None = None
) -> str:
    """Client-credentials token of the region's app for `tenant_id` (default: partner tenant):
    one another process shared (regions.token_caches), else MSAL's, cached per (region,
    tenant) in this process; a new one from Entra is shared with the others."""
    tenant = _tenant(region, tenant_id)
    wanted = scopes or region.graph_scopes
    shared = token_caches.app_token_shared(region=region, tenant_id=tenant, scopes=wanted)
    if shared is not None:
        return shared
    cache, http_cache = token_caches.app_cache(region, tenant)
    app = region_app(region, tenant=tenant, token_cache=cache, http_cache=http_cache)
    result = app.token_for_client(scopes=wanted)
    if result.get("token_source") == "identity_provider":  # new: offer it to the others
        token_caches.app_token_share(
            region=region,
            tenant_id=tenant,
            scopes=wanted,
            token=result["access_token"],
            expires_in=float(result.get("expires_in") or 0),
        )
    return result["access_token"]


def app_roles_granted(*, region: Region, tenant_id: str | None = None) -> list[str]:
    """The Microsoft Graph app roles (application permissions) the region's app holds in
    `tenant_id` (default: the partner tenant), as Graph lists them: its service principal's
    appRoleAssignments on Microsoft Graph, named by Graph's own appRoles. Access tokens are
    opaque to clients, so this never reads one.

    Asked as the app itself: client credentials read service principals with
    Application.Read.All or Directory.Read.All, so an app that holds neither there (none at all,
    e.g. right after Partner Center's consent) is refused: [] for "none that work". Raises
    IdentityError when Entra issues no token (not consented: NOT_CONSENTED), MicrosoftError
    when Graph fails otherwise.
    # Reference: https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments
    # Reference: https://learn.microsoft.com/entra/identity-platform/access-tokens
    """
    graph = graph_as_app(region=region, tenant_id=tenant_id)
    assignments = f"/servicePrincipals(appId='{region.client_id}')/appRoleAssignments"
    # Both reads in one $batch: a sync asks this of every customer, one round trip each.
    # Reference: https://learn.microsoft.com/graph/json-batching
    try:
        answers = graph.batch(
            [
                BatchRequest(
                    id="resource",
                    url=f"/servicePrincipals(appId='{GRAPH_APP_ID}')?$select=id,appRoles",
                ),
                BatchRequest(id="held", url=f"{assignments}?$select=appRoleId,resourceId"),
            ]
        )
        for answer in answers.values():
            answer.raise_for_status()
        resource = answers["resource"].body or {}
        first = answers["held"].body or {}
        held = list(first.get("value") or [])
        if first.get("@odata.nextLink"):  # more than a page of app roles: read them all
            held = list(graph.iter_items(assignments, params={"$select": "appRoleId,resourceId"}))
    except MicrosoftError as exc:
        if exc.kind == ErrorKind.FORBIDDEN:
            return []
        raise
    names = {
        str(r.get("id")): str(r.get("value"))
        for r in resource.get("appRoles") or []
        if isinstance(r, dict) and r.get("value")
    }
    return sorted(
        {
            names[str(a.get("appRoleId"))]
            for a in held
            if str(a.get("resourceId")) == str(resource.get("id"))
            and str(a.get("appRoleId")) in names
        }
    )


def app_token_drop(*, region: Region, tenant_id: str | None = None) -> None:
    """Forget the tenant's cached app token and MSAL's remembered refusal, so the next call
    gets a genuinely new token from Entra (after an authorization error, or before each
    provisioning attempt: a token issued before the relationship propagated lacks the roles)."""
    tenant = _tenant(region, tenant_id)
    token_caches.app_token_unshare(region=region, tenant_id=tenant)
    cache, http_cache = token_caches.app_cache(region, tenant)
    region_app(
        region, tenant=tenant, token_cache=cache, http_cache=http_cache
    ).client_tokens_forget()


def app_token_fresh(*, region: Region, scopes: list[str] | None = None) -> str:
    """A new client-credentials token in the partner tenant, bypassing every cache: a cached
    one would prove nothing about the credential as configured now (setup checks)."""
    app = region_app(region, token_cache=TokenCache(), http_cache={})
    return app.token_for_client(scopes=scopes or region.graph_scopes)["access_token"]


def openid_configuration(*, region: Region) -> dict:
    """The partner tenant's OpenID configuration, read afresh. Raises IdentityError (with
    `status` when Entra answered, without when it could not be reached)."""
    return _openid_configuration(
        login_host=region.login_host,
        tenant=str(region.partner_tenant_id),
        session=region_session(region),
        timeout=settings.GRAPH_TIMEOUT,
    )


def session_tokens_forget(*, session: SessionBase) -> None:
    """Sign-out: the session's tokens are gone before the session itself is."""
    token_caches.session_clear(session)


# --------------------------------------------------------------------------- clients


def graph_with_token(
    *,
    region: Region,
    token: str | Callable[[], str],
    on_unauthorized: Callable[[], str | None] | None = None,
    tenant_id: str | None = None,
    background: bool = True,
) -> GraphClient:
    """A Graph client for the region's Graph with the portal's timeouts and retry budget,
    paced by Microsoft's budgets of the region's app in `tenant_id` (default: the partner
    tenant), shared with every process (regions.throttle). `background`: a sweep, bulk run or
    task, which leaves a share of each budget to agents' pages."""
    return GraphClient(
        base_url=region.graph_base_url,
        token=token,
        session=region_session(region),
        timeout=settings.GRAPH_TIMEOUT,
        max_attempts=settings.GRAPH_MAX_ATTEMPTS,
        max_retry_after=settings.GRAPH_MAX_RETRY_AFTER,
        on_unauthorized=on_unauthorized,
        gate=SharedGate(
            app_id=str(region.client_id),
            tenant_id=_tenant(region, tenant_id),
            background=background,
        ),
    )


def graph_for_user(
    *,
    tokens: UserTokens,
    region: Region,
    tenant_id: str,
    fresh: bool = False,
    background: bool = False,
) -> GraphClient:
    """Delegated Graph in `tenant_id` with the user's tokens (session or grant);
    `background` for a run lent the user's tokens (regions.delegation).

    `fresh`: the client's first token is a new one (no cached token, no remembered refusal):
    after a consent, a token issued before it lacks the newly granted scopes."""
    pending = [fresh]

    def token() -> str:
        renew, pending[0] = pending[0], False
        return user_token(
            tokens=tokens,
            region=region,
            tenant_id=tenant_id,
            scopes=region.graph_scopes,
            force_refresh=renew,
            forget_refusals=renew,
        )

    def refreshed() -> str:
        # Graph said 401: redeem the refresh token once; a second 401 is the caller's error.
        return user_token(
            tokens=tokens,
            region=region,
            tenant_id=tenant_id,
            scopes=region.graph_scopes,
            force_refresh=True,
        )

    return graph_with_token(
        region=region,
        token=token,
        on_unauthorized=refreshed,
        tenant_id=tenant_id,
        background=background,
    )


def graph_as_agent(
    *, session: SessionBase, region: Region, tenant_id: str, fresh: bool = False
) -> GraphClient:
    """Delegated: the agent's token for the customer tenant (DAP/GDAP), from the session.
    `fresh`: see `graph_for_user`."""
    return graph_for_user(
        tokens=session_tokens(session), region=region, tenant_id=tenant_id, fresh=fresh
    )


def graph_as_app(*, region: Region, tenant_id: str | None = None) -> GraphClient:
    """App-only: the region's partner-managed app in `tenant_id` (default: partner tenant)."""
    tenant = _tenant(region, tenant_id)

    def token() -> str:
        return app_token(region=region, tenant_id=tenant)

    def renewed() -> str:
        # Graph said 401: the cached app token was revoked or expired early; ask for a new one.
        app_token_drop(region=region, tenant_id=tenant)
        return token()

    return graph_with_token(region=region, token=token, on_unauthorized=renewed, tenant_id=tenant)


def partner_center_with_token(
    *,
    region: Region,
    token: Callable[[], str],
    on_unauthorized: Callable[[], str | None] | None = None,
    timeout: float | tuple[float, float] | None = None,
    max_attempts: int | None = None,
) -> PartnerCenterClient:
    """A Partner Center client for the region with the portal's timeouts and retry budget."""
    return PartnerCenterClient(
        base_url=region.partner_center_base_url,
        token=token,
        session=region_session(region),
        timeout=settings.GRAPH_TIMEOUT if timeout is None else timeout,
        max_attempts=settings.GRAPH_MAX_ATTEMPTS if max_attempts is None else max_attempts,
        on_unauthorized=on_unauthorized,
    )


def partner_center_for_user(*, tokens: UserTokens, region: Region) -> PartnerCenterClient:
    """App+User Partner Center: the user's delegated `user_impersonation` token at the
    partner tenant (application consent needs it; app-only tokens are refused there)."""
    tenant = str(region.partner_tenant_id)

    def token(force_refresh: bool = False) -> str:
        return user_token(
            tokens=tokens,
            region=region,
            tenant_id=tenant,
            scopes=region.partner_center_user_scopes,
            force_refresh=force_refresh,
        )

    return partner_center_with_token(
        region=region, token=token, on_unauthorized=lambda: token(force_refresh=True)
    )


def partner_center_as_agent(*, session: SessionBase, region: Region) -> PartnerCenterClient:
    """App+User Partner Center as the agent signed in to `session`."""
    return partner_center_for_user(tokens=session_tokens(session), region=region)


def partner_center_as_app(
    *,
    region: Region,
    timeout: float | tuple[float, float] | None = None,
    max_attempts: int | None = None,
) -> PartnerCenterClient:
    """App-only Partner Center client of the region's app (partner tenant); timeouts and
    retries default to the Graph ones."""
    scopes = region.partner_center_scopes

    def token() -> str:
        return app_token(region=region, scopes=scopes)

    def refreshed() -> str:
        app_token_drop(region=region)
        return token()

    return partner_center_with_token(
        region=region,
        token=token,
        on_unauthorized=refreshed,
        timeout=timeout,
        max_attempts=max_attempts,
    )
