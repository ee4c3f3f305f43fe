"""What Entra issues: user access tokens, ID tokens (v1 and v2), app-only access tokens,
refresh tokens and the token endpoint's answer bodies.

Reference: https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
Reference: https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import TYPE_CHECKING, Any

from simulator import access
from simulator.signing import b64url
from simulator.tokens import access_token_issuer, opaque_token

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.identity.scopes import ScopeRequest
    from simulator.world import Agent, App, Tenant


# "User" directory role template id, in every user token's wids.
DEFAULT_USER_ROLE = "b79fbf4d-3ef9-4689-8143-76b194e85509"


def pairwise_sub(object_id: str, client_id: str) -> str:
    digest = hashlib.sha256(f"{object_id}/{client_id}".encode()).digest()
    return b64url(digest)[:43]


# Entra's default access-token lifetime: "a random value ranging between 60-90 minutes".
# Reference: https://learn.microsoft.com/entra/identity-platform/access-tokens
DEFAULT_LIFETIME_RANGE = (3600, 5400)


def _token_times(ctx: SimContext, tenant_id: str) -> tuple[int, int]:
    now = int(ctx.now())
    lifetime = ctx.faults.token_lifetime(tenant_id)
    if lifetime is None:
        low, high = DEFAULT_LIFETIME_RANGE
        lifetime = low + secrets.randbelow(high - low + 1)
    return now, now + lifetime


def _present(claims: dict[str, Any]) -> dict[str, Any]:
    """Entra omits a claim that has no value (no `roles` on a token without app roles, no
    `idp` for a home-tenant user, no `scp` without scopes) rather than sending it empty.

    Reference: https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference"""
    return {k: v for k, v in claims.items() if v is not None and v != "" and v != []}


def _access_token(ctx: SimContext, tenant_id: str, claims: dict[str, Any]) -> str:
    """Graph's and Partner Center's tokens are v1.0 tokens (`appid`/`appidacr`, never `azp`,
    which only v2.0 tokens carry); with the `opaque_access_tokens` fault the client cannot
    read them at all, as Microsoft allows for its own APIs.

    Reference: https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference"""
    signed = ctx.signing.sign(_present(claims))
    return opaque_token(signed) if ctx.faults.opaque_access_tokens(tenant_id) else signed


def _user_access_token(
    ctx: SimContext, agent: Agent, tenant: Tenant, app: App, scopes: ScopeRequest
) -> tuple[str, int, int]:
    iat, exp = _token_times(ctx, tenant.id)
    claims = {
        "aud": scopes.resource,
        "iss": access_token_issuer(tenant.id),
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "acct": 0 if tenant.id == agent.tenant_id else 1,
        "amr": ["pwd"],
        "app_displayname": app.display_name,
        "appid": app.client_id,
        "appidacr": "1",
        "family_name": agent.surname,
        "given_name": agent.given_name,
        "idp": (
            None if tenant.id == agent.tenant_id else f"https://sts.windows.net/{agent.tenant_id}/"
        ),
        "idtyp": "user",
        "name": agent.display_name,
        "oid": agent.object_id,
        "scp": " ".join(scopes.permissions),
        "sub": pairwise_sub(agent.object_id, app.client_id),
        "tid": tenant.id,
        "unique_name": agent.username,
        "upn": agent.username,
        "uti": b64url(secrets.token_bytes(16)),
        "ver": "1.0",
        "wids": [DEFAULT_USER_ROLE],
    }
    return _access_token(ctx, tenant.id, claims), iat, exp


def _id_token(
    ctx: SimContext,
    agent: Agent,
    tenant: Tenant,
    app: App,
    *,
    nonce: str | None,
    v1: bool = False,
) -> str:
    iat, _ = _token_times(ctx, tenant.id)
    claims: dict[str, Any] = {
        "aud": app.client_id,
        "iat": iat,
        "nbf": iat,
        "exp": iat + 3600,
        "name": agent.display_name,
        "oid": agent.object_id,
        "sub": pairwise_sub(agent.object_id, app.client_id),
        "tid": ctx.faults.get("id_token_tid", tenant.id) or tenant.id,
        "uti": b64url(secrets.token_bytes(16)),
    }
    if v1:
        claims.update(
            iss=access_token_issuer(tenant.id),
            upn=agent.username,
            unique_name=agent.username,
            given_name=agent.given_name,
            family_name=agent.surname,
            ver="1.0",
        )
    else:
        claims.update(
            iss=f"{ctx.endpoints.login}/{tenant.id}/v2.0",
            preferred_username=agent.username,
            ver="2.0",
        )
    nonce = ctx.faults.get("id_token_nonce", tenant.id) or nonce
    if nonce:
        claims["nonce"] = nonce
    # App role assignments live on the service principal in the partner tenant.
    if tenant.id == agent.tenant_id and agent.roles:
        claims["roles"] = list(agent.roles)
    claims = _present(claims)
    if v1:
        return _unsigned(claims)
    return ctx.signing.sign(claims)


def _unsigned(claims: dict[str, Any]) -> str:
    """The v1 token endpoint's id_token: "An unsigned JSON Web Token" (`alg: none`, empty
    signature); the client got it over TLS from the token endpoint and trusts it for that.

    Reference: https://learn.microsoft.com/previous-versions/azure/active-directory/azuread-dev/v1-protocols-oauth-code
    """
    header = b64url(json.dumps({"typ": "JWT", "alg": "none"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}."


def _client_info(agent: Agent) -> str:
    raw = json.dumps({"uid": agent.object_id, "utid": agent.tenant_id}).encode()
    return b64url(raw)


def _new_refresh_token(ctx: SimContext, agent: Agent, app: App) -> str:
    token = "0.Sim" + secrets.token_urlsafe(48)
    with ctx.grants.lock:
        ctx.grants.refresh_tokens[token] = {
            "username": agent.username,
            "client_id": app.client_id,
            "issued": ctx.now(),
        }
    return token


def user_token_response(
    ctx: SimContext,
    agent: Agent,
    tenant: Tenant,
    app: App,
    scopes: ScopeRequest,
    *,
    nonce: str | None,
    v1: bool,
) -> dict[str, Any]:
    access_token, iat, exp = _user_access_token(ctx, agent, tenant, app, scopes)
    lifetime = exp - iat
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join(scopes.permissions) if v1 else scopes.response_scope(),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
        "refresh_token": _new_refresh_token(ctx, agent, app),
    }
    if v1 or "openid" in scopes.oidc:
        body["id_token"] = _id_token(ctx, agent, tenant, app, nonce=nonce, v1=v1)
    if not v1:
        body["client_info"] = _client_info(agent)
    else:
        body.update(v1_extras(scopes.resource, iat, exp))
    return body


def v1_extras(resource: str, iat: int, exp: int) -> dict[str, str]:
    return {
        "expires_in": str(exp - iat),
        "ext_expires_in": str(exp - iat),
        "expires_on": str(exp),
        "not_before": str(iat),
        "resource": resource,
    }


def app_token_response(
    ctx: SimContext, tenant: Tenant, app: App, resource: str, roles: list[str], *, v1: bool
) -> dict[str, Any]:
    """The client_credentials answer: an app-only access token with the app's roles."""
    iat, exp = _token_times(ctx, tenant.id)
    # The app's service principal in a customer tenant is its own object there.
    sp_oid = access.service_principal_id(app, tenant.id)
    claims = {
        "aud": resource,
        "iss": access_token_issuer(tenant.id),
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "app_displayname": app.display_name,
        "appid": app.client_id,
        "appidacr": "1",
        "idp": access_token_issuer(tenant.id),
        "idtyp": "app",
        "oid": sp_oid,
        "roles": roles,
        "sub": sp_oid,
        "tid": tenant.id,
        "uti": b64url(secrets.token_bytes(16)),
        "ver": "1.0",
    }
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "expires_in": exp - iat,
        "ext_expires_in": exp - iat,
        "access_token": _access_token(ctx, tenant.id, claims),
    }
    if v1:
        body.update(v1_extras(resource, iat, exp))
    return body
