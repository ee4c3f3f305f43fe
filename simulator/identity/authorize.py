"""The authorize endpoints (v2.0 and v1): the sign-in form for the seeded agents, SSO by
cookie, single-use authorization codes (with PKCE), redirects with the answer, and logout.

Reference: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from werkzeug.wrappers import Request, Response

from simulator.identity.errors import (
    AadError,
    aadsts_body,
    app_not_found,
    resource_not_supported,
    user_not_in_tenant,
)
from simulator.identity.pages import error_page, form_post_page, sign_in_page, signed_out_page
from simulator.identity.scopes import ScopeRequest, parse_resource, parse_scopes
from simulator.identity.tenants import ALIASES, may_sign_in, resolve_tenant
from simulator.tokens import new_id

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import Agent, App, Tenant

CODE_LIFETIME = 600  # authorization codes live 10 minutes
SSO_COOKIE = "ESTSAUTH"  # Entra's session cookie name: a second authorize signs in silently


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def _loopback_key(uri: str) -> tuple[str, str, str, str] | None:
    """(scheme, host, path, query) of an http loopback URI, whose port Entra ignores."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or parts.fragment:
        return None
    return parts.scheme, parts.hostname, parts.path, parts.query


def redirect_registered(app: App, redirect_uri: str) -> bool:
    """Whether `redirect_uri` is one of the app's registered redirect URIs: compared exactly
    (the path is case-sensitive), except that the port of an http loopback URI is ignored
    (RFC 8252), e.g. http://127.0.0.1/auth/callback/ admits http://127.0.0.1:51004/auth/callback/.

    Reference: https://learn.microsoft.com/entra/identity-platform/reply-url
    """
    if redirect_uri in app.redirect_uris:
        return True
    wanted = _loopback_key(redirect_uri)
    return wanted is not None and any(_loopback_key(r) == wanted for r in app.redirect_uris)


def _add_params(uri: str, params: dict[str, str], *, mode: str) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    if mode == "fragment":
        return f"{uri}#{query}"
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


def authorize_v2(ctx: SimContext, request: Request, tenant: str) -> Response:
    return _authorize(ctx, request, tenant, v1=False)


def authorize_v1(ctx: SimContext, request: Request, tenant: str) -> Response:
    return _authorize(ctx, request, tenant, v1=True)


@dataclass
class _AuthRequest:
    """An authorize request whose client and redirect URI are known to be valid."""

    tenant: Tenant | None  # None for common/organizations: the user's home tenant
    app: App
    redirect_uri: str
    params: dict[str, str]
    scopes: ScopeRequest | None = None

    @property
    def state(self) -> str | None:
        return self.params.get("state")

    @property
    def mode(self) -> str:
        return self.params.get("response_mode") or "query"


def _auth_params(request: Request) -> dict[str, str]:
    params = dict(request.args.items())
    if request.method == "POST":
        for key, value in request.form.items():
            if key not in ("login", "passwd"):
                params.setdefault(key, value)
    return params


def _authorize(ctx: SimContext, request: Request, tenant_name: str, *, v1: bool) -> Response:
    params = _auth_params(request)
    # Errors before the redirect URI is trusted are shown on the page, never redirected.
    try:
        tenant = None if tenant_name.lower() in ALIASES else resolve_tenant(ctx, tenant_name)
        if tenant is not None:
            request.environ["sim.tenant"] = tenant.id
        client_id = params.get("client_id", "")
        app = ctx.world.app(client_id) if client_id else None
        if app is None:
            raise app_not_found(client_id, tenant)
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri or not redirect_registered(app, redirect_uri):
            raise AadError(
                "invalid_request",
                50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match the "
                f"redirect URIs configured for the application '{app.client_id}'. Make sure the "
                "redirect URI sent in the request matches one added to your application in the "
                "Azure portal.",
            )
    except AadError as exc:
        return error_page(exc)
    auth = _AuthRequest(tenant, app, redirect_uri, params)
    try:
        if "code" not in params.get("response_type", "").split():
            raise AadError(
                "unsupported_response_type",
                70005,
                "response_type 'token' is not enabled for the application.",
            )
        if params.get("code_challenge_method", "S256") not in ("S256", "plain"):
            raise AadError(
                "invalid_request",
                5000310,
                "The code_challenge_method is not supported: use S256.",
            )
        if not v1 and "resource" in params:
            raise resource_not_supported()
        auth.scopes = (
            parse_resource(params.get("resource", ""))
            if v1
            else parse_scopes(params.get("scope", ""), tenant=tenant)
        )
    except AadError as exc:
        return _redirect_error(auth, exc)
    prompt = params.get("prompt", "")
    sso_user = _sso_agent(ctx, request)
    hint = params.get("login_hint", "").strip().lower()
    if request.method == "POST" and "login" in request.form:
        return _sign_in(ctx, request, auth, v1=v1)
    sso_usable = sso_user is not None and prompt not in ("login", "select_account")
    if sso_user is not None and sso_usable and (not hint or hint == sso_user.username.lower()):
        target = auth.tenant or ctx.world.tenants[sso_user.tenant_id]
        if may_sign_in(ctx, sso_user, target):
            return _issue_code(ctx, auth, sso_user, target, v1=v1)
    if prompt == "none":
        return _redirect_error(
            auth,
            AadError(
                "login_required",
                50058,
                "A silent sign-in request was sent but no user is signed in.",
            ),
        )
    return _sign_in_page(auth, username=params.get("login_hint", ""))


def _sign_in_page(auth: _AuthRequest, *, username: str, error: AadError | None = None) -> Response:
    return sign_in_page(
        app_name=auth.app.display_name,
        tenant_name=auth.tenant.name if auth.tenant else None,
        params=auth.params,
        username=username,
        error=error,
    )


def _sign_in(ctx: SimContext, request: Request, auth: _AuthRequest, *, v1: bool) -> Response:
    username = request.form.get("login", "").strip()
    password = request.form.get("passwd", "")
    agent = ctx.world.agent(username)
    if agent is None:
        error = AadError(
            "invalid_request",
            50034,
            f"The user account {username} does not exist in the directory. To sign into this "
            "application, the account must be added to the directory.",
        )
        return _sign_in_page(auth, username=username, error=error)
    if not secrets.compare_digest(password.encode(), agent.password.encode()):
        error = AadError(
            "invalid_request",
            50126,
            "Error validating credentials due to invalid username or password.",
        )
        return _sign_in_page(auth, username=username, error=error)
    target = auth.tenant or ctx.world.tenants[agent.tenant_id]
    if not may_sign_in(ctx, agent, target):
        error = user_not_in_tenant(agent, target, auth.app)
        return _sign_in_page(auth, username=username, error=error)
    response = _issue_code(ctx, auth, agent, target, v1=v1)
    session = secrets.token_urlsafe(32)
    with ctx.grants.lock:
        ctx.grants.sso_sessions[session] = agent.username
    response.set_cookie(SSO_COOKIE, session, httponly=True, samesite="Lax", path="/")
    return response


def _sso_agent(ctx: SimContext, request: Request) -> Agent | None:
    session = request.cookies.get(SSO_COOKIE)
    if not session:
        return None
    with ctx.grants.lock:
        username = ctx.grants.sso_sessions.get(session)
    return ctx.world.agent(username) if username else None


def _issue_code(
    ctx: SimContext, auth: _AuthRequest, agent: Agent, tenant: Tenant, *, v1: bool
) -> Response:
    code = "1.Sim" + secrets.token_urlsafe(64)
    now = ctx.now()
    with ctx.grants.lock:
        # Drop stale codes here so the store never grows without bound.
        for stale in [k for k, g in ctx.grants.codes.items() if g["expires"] < now - 60]:
            del ctx.grants.codes[stale]
        ctx.grants.codes[code] = {
            "client_id": auth.app.client_id,
            "tenant_id": tenant.id,
            "username": agent.username,
            "redirect_uri": auth.redirect_uri,
            "scope": auth.params.get("resource" if v1 else "scope", ""),
            "nonce": auth.params.get("nonce"),
            "code_challenge": auth.params.get("code_challenge"),
            "code_challenge_method": auth.params.get("code_challenge_method", "plain"),
            "expires": now + CODE_LIFETIME,
            "used": False,
        }
    params = {"code": code, "state": auth.state, "session_state": new_id()}
    return _respond(auth, params)


def _redirect_error(auth: _AuthRequest, exc: AadError) -> Response:
    body = aadsts_body(exc.error, exc.code, exc.message)
    params = {
        "error": exc.error,
        "error_description": body["error_description"],
        "error_uri": body["error_uri"],
        "state": auth.state,
    }
    return _respond(auth, params)


def _respond(auth: _AuthRequest, params: dict[str, str | None]) -> Response:
    values = {k: v for k, v in params.items() if v is not None}
    if auth.mode == "form_post":
        return form_post_page(auth.redirect_uri, values)
    location = _add_params(auth.redirect_uri, values, mode=auth.mode)
    return Response("", status=302, headers={"Location": location, "Cache-Control": "no-store"})


def logout(ctx: SimContext, request: Request, tenant: str) -> Response:
    """End the SSO session; go back to post_logout_redirect_uri when it is a local URL."""
    session = request.cookies.get(SSO_COOKIE)
    if session:
        with ctx.grants.lock:
            ctx.grants.sso_sessions.pop(session, None)
    target = request.args.get("post_logout_redirect_uri", "")
    parts = urlsplit(target) if target else None
    if parts and parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost"):
        response = Response("", status=302, headers={"Location": target})
    else:
        response = signed_out_page()
    response.delete_cookie(SSO_COOKIE, path="/")
    return response
