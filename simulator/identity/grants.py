"""The token endpoints (v2.0 and v1): authorization_code with PKCE and single-use codes,
refresh_token at any tenant the agent may sign in to, client_credentials where the app has
access.

Reference: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow
Reference: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from simulator import access
from simulator.identity.claims import app_token_response, user_token_response
from simulator.identity.client_auth import authenticate_client
from simulator.identity.errors import (
    AadError,
    aadsts_error,
    app_not_found,
    consent_required,
    entra_json,
    resource_not_supported,
    user_not_in_tenant,
)
from simulator.identity.scopes import (
    APPLICATION,
    PARTNER_TENANT_APPLICATION,
    ScopeRequest,
    canonical_resource,
    parse_resource,
    parse_scopes,
)
from simulator.identity.tenants import ALIASES, may_sign_in, resolve_tenant
from simulator.signing import b64url

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import App, Tenant

REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600  # sliding 90 days of inactivity


def token_v2(ctx: SimContext, request: Request, tenant: str) -> Response:
    return _token(ctx, request, tenant, v1=False)


def token_v1(ctx: SimContext, request: Request, tenant: str) -> Response:
    return _token(ctx, request, tenant, v1=True)


def _token(ctx: SimContext, request: Request, tenant_name: str, *, v1: bool) -> Response:
    correlation_id = request.headers.get("client-request-id")
    try:
        body = _token_body(ctx, request, tenant_name, v1=v1)
    except AadError as exc:
        return aadsts_error(
            exc.error,
            exc.code,
            exc.message,
            status=exc.status,
            correlation_id=correlation_id,
            extra={"suberror": exc.suberror} if exc.suberror else None,
        )
    return entra_json(body)


def _token_body(ctx: SimContext, request: Request, tenant_name: str, *, v1: bool) -> dict:
    form = request.form
    grant_type = form.get("grant_type", "")
    tenant = None if tenant_name.lower() in ALIASES else resolve_tenant(ctx, tenant_name)
    if tenant is not None:
        request.environ["sim.tenant"] = tenant.id
    app = authenticate_client(ctx, request, tenant)
    if not v1 and "resource" in form:
        raise resource_not_supported()
    if grant_type == "authorization_code":
        return _grant_authorization_code(ctx, request, tenant, app, v1=v1)
    if grant_type == "refresh_token":
        return _grant_refresh_token(ctx, request, tenant, app, v1=v1)
    if grant_type == "client_credentials":
        if tenant is None:
            raise AadError(
                "invalid_request",
                50059,
                "No tenant-identifying information found in either the request or implied by "
                "any provided credentials.",
            )
        return _grant_client_credentials(ctx, request, tenant, app, v1=v1)
    if not grant_type:
        raise AadError(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        )
    raise AadError(
        "unsupported_grant_type",
        70003,
        f"The app requested an unsupported grant type '{grant_type}'.",
    )


def _requested_scopes(
    form: Any,
    fallback: str,
    *,
    tenant: Tenant | None,
    v1: bool,
    app: App | None = None,
    now: float | None = None,
) -> ScopeRequest:
    if v1:
        return parse_resource(form.get("resource", "") or fallback, tenant=tenant, app=app, now=now)
    return parse_scopes(form.get("scope", "") or fallback, tenant=tenant, app=app, now=now)


def _grant_authorization_code(
    ctx: SimContext, request: Request, tenant: Tenant | None, app: App, *, v1: bool
) -> dict[str, Any]:
    form = request.form
    code = form.get("code", "")
    if not code:
        raise AadError(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'code'.",
        )
    with ctx.grants.lock:
        grant = ctx.grants.codes.get(code)
        if grant is None:
            raise AadError(
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid.",
            )
        if grant["used"]:
            raise AadError(
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid "
                "code or use an existing refresh token.",
            )
        if ctx.now() > grant["expires"]:
            raise AadError(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to "
                "inactivity. Send a new interactive authorization request for this user and "
                "resource.",
            )
        if grant["client_id"] != app.client_id:
            raise AadError("invalid_grant", 70000, "Provided grant is invalid or malformed.")
        if tenant is not None and grant["tenant_id"] != tenant.id:
            raise AadError(
                "invalid_grant",
                700005,
                "Provided Authorization Code is intended to use against other tenant, thus "
                "rejected.",
            )
        if form.get("redirect_uri", "") != grant["redirect_uri"]:
            raise AadError(
                "invalid_grant",
                500112,
                "The reply address does not match the reply address provided when requesting "
                "Authorization code.",
            )
        if grant["code_challenge"]:
            verifier = form.get("code_verifier", "")
            if grant["code_challenge_method"] == "S256":
                computed = b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
            else:
                computed = verifier
            if not verifier or not secrets.compare_digest(
                computed.encode(), grant["code_challenge"].encode()
            ):
                raise AadError(
                    "invalid_grant",
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the "
                    "authorization request.",
                )
        grant["used"] = True
    agent = ctx.world.agent(grant["username"])
    code_tenant = ctx.world.tenants.get(grant["tenant_id"])
    if agent is None or code_tenant is None:
        raise AadError("invalid_grant", 70000, "Provided grant is invalid or malformed.")
    scopes = _requested_scopes(form, grant["scope"], tenant=code_tenant, v1=v1)
    return user_token_response(ctx, agent, code_tenant, app, scopes, nonce=grant["nonce"], v1=v1)


def _grant_refresh_token(
    ctx: SimContext, request: Request, tenant: Tenant | None, app: App, *, v1: bool
) -> dict[str, Any]:
    form = request.form
    raw = form.get("refresh_token", "")
    with ctx.grants.lock:
        grant = ctx.grants.refresh_tokens.get(raw)
    if grant is None or grant["client_id"] != app.client_id:
        raise AadError(
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid.",
        )
    if ctx.now() - grant["issued"] > REFRESH_TOKEN_LIFETIME:
        raise AadError(
            "invalid_grant",
            700082,
            "The refresh token has expired due to inactivity. The token was issued on "
            f"{datetime.fromtimestamp(grant['issued'], UTC).isoformat()} and was inactive for "
            "90.00:00:00.",
        )
    agent = ctx.world.agent(grant["username"])
    if agent is None or grant.get("revoked"):
        raise AadError(
            "invalid_grant", 50173, "The provided grant has expired due to it being revoked."
        )
    target = tenant or ctx.world.tenants[agent.tenant_id]
    # Refresh tokens are bound to user + client, not to a tenant: any tenant where the
    # agent may sign in redeems it (this is how DAP/GDAP agents reach customer tenants).
    if not may_sign_in(ctx, agent, target):
        raise user_not_in_tenant(agent, target, app)
    # GDAP: only through a group assigned in the customer (or AdminAgents with DAP).
    if (
        target.id != agent.tenant_id
        and target.relationship_status == "active"
        and not access.agent_roles(ctx.world, agent, target, ctx.now())
    ):
        raise user_not_in_tenant(agent, target, app)
    if target.id != app.home_tenant_id and not access.app_present(app, target, ctx.now()):
        raise consent_required(app, target)
    scopes = _requested_scopes(form, "", tenant=target, v1=v1, app=app, now=ctx.now())
    if ctx.faults.interaction_required(target.id):
        # Entra answers MFA-required as invalid_grant with suberror basic_action (MSAL turns
        # it into an interaction); the error is not interaction_required.
        # Reference: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
        # Reference: https://learn.microsoft.com/entra/msal/python/advanced/msal-error-handling-python
        raise AadError(
            "invalid_grant",
            50076,
            "Due to a configuration change made by your administrator, or because you moved to "
            "a new location, you must use multi-factor authentication to access "
            f"'{scopes.resource}'.",
            status=400,
            suberror="basic_action",
        )
    body = user_token_response(ctx, agent, target, app, scopes, nonce=None, v1=v1)
    return body


def _grant_client_credentials(
    ctx: SimContext, request: Request, tenant: Tenant, app: App, *, v1: bool
) -> dict[str, Any]:
    form = request.form
    if v1:
        resource = canonical_resource(form.get("resource", ""))
        if resource is None:
            raise AadError(
                "invalid_resource",
                500011,
                f"The resource principal named {form.get('resource', '')} was not found in the "
                f"tenant named {tenant.name}.",
            )
    else:
        scope = form.get("scope", "").strip()
        resource_name, _, permission = scope.rpartition("/")
        if len(scope.split()) != 1 or permission != ".default":
            raise AadError(
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        resource = canonical_resource(resource_name)
        if resource is None:
            raise AadError(
                "invalid_resource",
                500011,
                f"The resource principal named {resource_name} was not found in the tenant "
                f"named {tenant.name}.",
            )
    roles = _app_roles(ctx, tenant, app, resource)
    return app_token_response(ctx, tenant, app, resource, roles, v1=v1)


def _app_roles(ctx: SimContext, tenant: Tenant, app: App, resource: str) -> list[str]:
    """The app's roles in the tenant, or the error Entra answers when it has none there."""
    now = ctx.now()
    if ctx.world.app_access(app, tenant.id, now):
        if tenant.id == app.home_tenant_id:
            return [*APPLICATION[resource], *PARTNER_TENANT_APPLICATION.get(resource, ())]
        # Consented: the app roles assigned to its service principal (none: a token without
        # roles, which Graph refuses with 403).
        return list(access.app_roles(app, tenant, APPLICATION[resource], now))
    related = (
        tenant.partner_tenant_id == app.home_tenant_id
        and access.app_present(app, tenant, now)
        and tenant.relationship_status == "active"
    )
    # Before propagation Entra either does not know the app in the tenant yet, or issues a
    # token without the preconsented roles (REFERENCE.md: which one is unconfirmed).
    if related and ctx.faults.propagation_mode(tenant.id) == "no_roles":
        return []
    raise app_not_found(app.client_id, tenant)
