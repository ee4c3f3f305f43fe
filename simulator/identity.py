"""Entra ID: discovery, JWKS, v2 + v1 authorize and token endpoints, AADSTS errors.

Reference: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow
Reference: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from simulator.responses import JSON_UTF8, json_response
from simulator.signing import b64url
from simulator.tokens import (
    GRAPH_AUDIENCE,
    GRAPH_AUDIENCES,
    PARTNER_CENTER_AUDIENCE,
    PARTNER_CENTER_AUDIENCES,
    access_token_issuer,
    new_id,
)
from simulator.world import APP_PERMISSIONS, Agent, App, Tenant

if TYPE_CHECKING:
    from simulator.context import SimContext

CODE_LIFETIME = 600  # authorization codes live 10 minutes
REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600  # sliding 90 days of inactivity
SSO_COOKIE = "ESTSAUTH"
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
# Tenant aliases that are not a tenant; only discovery and sign-in understand them.
ALIASES = ("common", "organizations")
DEFAULT_USER_ROLE = "b79fbf4d-3ef9-4689-8143-76b194e85509"
CLAIMS_SUPPORTED = [
    "sub",
    "iss",
    "cloud_instance_name",
    "cloud_instance_host_name",
    "cloud_graph_host_name",
    "msgraph_host",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "acr",
    "nonce",
    "preferred_username",
    "name",
    "tid",
    "ver",
    "at_hash",
    "c_hash",
    "email",
]

# Delegated permissions each resource grants to the partner app (".default" = all of them).
DELEGATED: dict[str, tuple[str, ...]] = {
    GRAPH_AUDIENCE: ("User.Read", *APP_PERMISSIONS),
    PARTNER_CENTER_AUDIENCE: ("user_impersonation",),
}
# Application permissions (app roles) each resource grants for client_credentials.
APPLICATION: dict[str, tuple[str, ...]] = {
    GRAPH_AUDIENCE: APP_PERMISSIONS,
    PARTNER_CENTER_AUDIENCE: (),
}


# --------------------------------------------------------------------------- errors


def aadsts_error(
    error: str,
    code: int,
    message: str,
    *,
    status: int = 400,
    correlation_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """An Entra error body: error, error_description with trace lines, error_codes, ids."""
    body = aadsts_body(error, code, message, correlation_id=correlation_id)
    body.update(extra or {})
    trace_id = body["trace_id"]
    headers = {"x-ms-request-id": trace_id, "Cache-Control": "no-store, no-cache"}
    return json_response(body, status, headers, content_type=JSON_UTF8)


def aadsts_body(
    error: str, code: int, message: str, *, correlation_id: str | None = None
) -> dict[str, Any]:
    now = datetime.now(UTC)
    timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id, correlation_id = str(uuid.uuid4()), correlation_id or str(uuid.uuid4())
    description = (
        f"AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}"
        f"\r\nTimestamp: {timestamp}"
    )
    return {
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


class AadError(Exception):
    """Raised inside the token and authorize logic; turned into an AADSTS response."""

    def __init__(self, error: str, code: int, message: str, status: int = 400) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.error, self.code, self.message, self.status = error, code, message, status


def _tenant_not_found(name: str) -> AadError:
    return AadError(
        "invalid_tenant",
        90002,
        f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant.",
    )


def _app_not_found(client_id: str, tenant: Tenant | None) -> AadError:
    where = tenant.id if tenant else "common"
    return AadError(
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{where}'. "
        "This can happen if the application has not been installed by the administrator of the "
        "tenant or consented to by any user in the tenant. You may have sent your "
        "authentication request to the wrong tenant.",
    )


def _user_not_in_tenant(agent: Agent, tenant: Tenant, app: App) -> AadError:
    return AadError(
        "invalid_grant",
        50020,
        f"User account '{agent.username}' from identity provider "
        f"'https://sts.windows.net/{agent.tenant_id}/' does not exist in tenant '{tenant.name}' "
        f"and cannot access the application '{app.client_id}'({app.display_name}) in that "
        "tenant. The account needs to be added as an external user in the tenant first. Sign "
        "out and sign in again with a different Azure Active Directory user account.",
    )


def _invalid_scope(scope: str) -> AadError:
    return AadError(
        "invalid_scope",
        70011,
        f"The provided request must include a 'scope' input parameter. The provided value for "
        f"the input parameter 'scope' is not valid. The scope '{scope}' is not valid.",
    )


# --------------------------------------------------------------------------- tenants


def _resolve(ctx: SimContext, name: str) -> Tenant:
    tenant = ctx.world.find_tenant(name)
    if tenant is None:
        raise _tenant_not_found(name)
    return tenant


def _may_sign_in(ctx: SimContext, agent: Agent, tenant: Tenant) -> bool:
    """The agent's partner is partner of record in the tenant (or it is the agent's own).

    An expired relationship still lets the agent authenticate (the foreign principal is
    there), but carries no privileges: Graph answers 403 there. A relationship that has not
    reached the tenant yet behaves like no relationship at all.
    """
    if tenant.id == agent.tenant_id:
        return True
    if tenant.partner_tenant_id != agent.tenant_id:
        return False
    if tenant.relationship_status == "expired":
        return True
    return ctx.world.relationship_live(tenant, agent.tenant_id, ctx.now())


# --------------------------------------------------------------------------- scopes


@dataclass
class ScopeRequest:
    """A parsed `scope` (v2) or `resource` (v1) parameter."""

    resource: str  # canonical audience URL
    permissions: tuple[str, ...]  # granted delegated permissions (for `scp`)
    requested: tuple[str, ...]  # resource scopes exactly as sent (echoed for MSAL's cache)
    oidc: tuple[str, ...]

    def response_scope(self) -> str:
        bare = self.resource == GRAPH_AUDIENCE
        granted = [p if bare else f"{self.resource}/{p}" for p in self.permissions]
        shown = [s for s in self.oidc if s != "offline_access"]
        if "openid" in shown and "email" not in shown:
            shown.append("email")
        return " ".join(dict.fromkeys([*self.requested, *granted, *shown]))


def _canonical_resource(name: str) -> str | None:
    name = name.rstrip("/").lower()
    if name in GRAPH_AUDIENCES or name == "https://graph.microsoft.com":
        return GRAPH_AUDIENCE
    if name in PARTNER_CENTER_AUDIENCES:
        return PARTNER_CENTER_AUDIENCE
    return None


def _split_scope(scope: str) -> tuple[str, str]:
    """('resource', 'permission') of one scope; bare names belong to Graph."""
    if "/" not in scope:
        return GRAPH_AUDIENCE, scope
    resource, _, permission = scope.rpartition("/")
    return resource, permission


def parse_scopes(raw: str, *, tenant: Tenant | None = None) -> ScopeRequest:
    scopes = raw.split()
    oidc = tuple(s for s in scopes if s in OIDC_SCOPES)
    others = [s for s in scopes if s not in OIDC_SCOPES]
    if not others:
        # A sign-in-only request still yields a Graph token for the signed-in user.
        return ScopeRequest(GRAPH_AUDIENCE, ("User.Read",), (), oidc)
    resources: dict[str, list[str]] = {}
    for scope in others:
        resource_name, permission = _split_scope(scope)
        resource = _canonical_resource(resource_name)
        if resource is None:
            where = tenant.name if tenant else "the directory"
            raise AadError(
                "invalid_resource",
                500011,
                f"The resource principal named {resource_name} was not found in the tenant "
                f"named {where}. This can happen if the application has not been installed by "
                "the administrator of the tenant or consented to by any user in the tenant. "
                "You might have sent your authentication request to the wrong tenant.",
            )
        resources.setdefault(resource, []).append(permission)
    if len(resources) > 1:
        raise AadError(
            "invalid_scope",
            28000,
            f"Provided value for the input parameter scope '{raw}' is not valid because it "
            "contains more than one resource. Scope "
            f"{' '.join(others)} is not valid.",
        )
    ((resource, permissions),) = resources.items()
    allowed = DELEGATED[resource]
    if ".default" in permissions:
        granted: tuple[str, ...] = allowed
    else:
        unknown = [p for p in permissions if p.lower() not in {a.lower() for a in allowed}]
        if unknown:
            raise _invalid_scope(unknown[0])
        granted = tuple(a for a in allowed if a.lower() in {p.lower() for p in permissions})
    return ScopeRequest(resource, granted, tuple(others), oidc)


def parse_resource(raw: str) -> ScopeRequest:
    """The v1 `resource=` parameter (default Graph, like the seed's sign-in)."""
    resource = _canonical_resource(raw) if raw else GRAPH_AUDIENCE
    if resource is None:
        raise AadError(
            "invalid_resource",
            500011,
            f"The resource principal named {raw} was not found in the tenant.",
        )
    return ScopeRequest(resource, DELEGATED[resource], (), ("openid",))


# --------------------------------------------------------------------------- token issuing


def _pairwise_sub(object_id: str, client_id: str) -> str:
    digest = hashlib.sha256(f"{object_id}/{client_id}".encode()).digest()
    return b64url(digest)[:43]


def _times(ctx: SimContext, tenant_id: str) -> tuple[int, int]:
    now = int(ctx.now())
    return now, now + ctx.faults.token_lifetime(tenant_id)


def _user_access_token(
    ctx: SimContext, agent: Agent, tenant: Tenant, app: App, scopes: ScopeRequest
) -> tuple[str, int, int]:
    iat, exp = _times(ctx, tenant.id)
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
        "azp": app.client_id,
        "family_name": agent.surname,
        "given_name": agent.given_name,
        "idp": (
            None if tenant.id == agent.tenant_id else f"https://sts.windows.net/{agent.tenant_id}/"
        ),
        "idtyp": "user",
        "name": agent.display_name,
        "oid": agent.object_id,
        "scp": " ".join(scopes.permissions),
        "sub": _pairwise_sub(agent.object_id, app.client_id),
        "tid": tenant.id,
        "unique_name": agent.username,
        "upn": agent.username,
        "uti": b64url(secrets.token_bytes(16)),
        "ver": "1.0",
        "wids": [DEFAULT_USER_ROLE],
    }
    if claims["idp"] is None:
        del claims["idp"]
    return ctx.signing.sign(claims), iat, exp


def _id_token(
    ctx: SimContext,
    agent: Agent,
    tenant: Tenant,
    app: App,
    *,
    nonce: str | None,
    v1: bool = False,
) -> str:
    iat, _ = _times(ctx, tenant.id)
    claims: dict[str, Any] = {
        "aud": app.client_id,
        "iat": iat,
        "nbf": iat,
        "exp": iat + 3600,
        "name": agent.display_name,
        "oid": agent.object_id,
        "sub": _pairwise_sub(agent.object_id, app.client_id),
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
    return ctx.signing.sign(claims)


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


def _user_token_response(
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
        body.update(_v1_extras(scopes.resource, iat, exp))
    return body


def _v1_extras(resource: str, iat: int, exp: int) -> dict[str, str]:
    return {
        "expires_in": str(exp - iat),
        "ext_expires_in": str(exp - iat),
        "expires_on": str(exp),
        "not_before": str(iat),
        "resource": resource,
    }


# --------------------------------------------------------------------------- discovery


def _discovery_tenant(ctx: SimContext, request: Request, tenant: str) -> str:
    """The GUID the document's endpoints use (aliases stay as they are, like Entra)."""
    if tenant.lower() in ALIASES:
        return tenant.lower()
    found = _resolve(ctx, tenant)
    request.environ["sim.tenant"] = found.id
    return found.id


def openid_configuration_v2(ctx: SimContext, request: Request, tenant: str) -> Response:
    try:
        tid = _discovery_tenant(ctx, request, tenant)
    except AadError as exc:
        return aadsts_error(exc.error, exc.code, exc.message, status=exc.status)
    login, browser = ctx.endpoints.login, ctx.endpoints.browser
    issuer_tid = "{tenantid}" if tid in ALIASES else tid
    region = ctx.world.region_of_tenant(tid) if tid not in ALIASES else None
    doc = {
        "token_endpoint": f"{login}/{tid}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{login}/{tid}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{login}/{issuer_tid}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{ctx.endpoints.graph}/oidc/userinfo",
        # The sign-in page is on the plain-HTTP origin so a browser needs no CA.
        "authorization_endpoint": f"{browser}/{tid}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{login}/{tid}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{browser}/{tid}/oauth2/v2.0/logout",
        "claims_supported": CLAIMS_SUPPORTED,
        "kerberos_endpoint": f"{login}/{tid}/kerberos",
        "tenant_region_scope": "EU" if region and region.slug == "eu" else "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }
    return _json(doc)


def openid_configuration_v1(ctx: SimContext, request: Request, tenant: str) -> Response:
    try:
        tid = _discovery_tenant(ctx, request, tenant)
    except AadError as exc:
        return aadsts_error(exc.error, exc.code, exc.message, status=exc.status)
    login, browser = ctx.endpoints.login, ctx.endpoints.browser
    doc = {
        "token_endpoint": f"{login}/{tid}/oauth2/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{login}/common/discovery/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token"],
        "scopes_supported": ["openid"],
        "issuer": access_token_issuer("{tenantid}" if tid in ALIASES else tid),
        "microsoft_multi_refresh_token": True,
        "authorization_endpoint": f"{browser}/{tid}/oauth2/authorize",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{browser}/{tid}/oauth2/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "upn", "tid", "ver"],
        "cloud_instance_name": "microsoftonline.com",
        "msgraph_host": "graph.microsoft.com",
    }
    return _json(doc)


def jwks(ctx: SimContext, request: Request, tenant: str) -> Response:
    try:
        _discovery_tenant(ctx, request, tenant)
    except AadError as exc:
        return aadsts_error(exc.error, exc.code, exc.message, status=exc.status)
    return _json(ctx.signing.jwks())


def _json(body: Any, status: int = 200) -> Response:
    # Entra's token and discovery answers must not be cached by anything in between.
    return json_response(
        body, status, {"Cache-Control": "no-store, no-cache"}, content_type=JSON_UTF8
    )


# --------------------------------------------------------------------------- token endpoint


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
            exc.error, exc.code, exc.message, status=exc.status, correlation_id=correlation_id
        )
    return _json(body)


def _client_credentials_of(request: Request) -> tuple[str, str | None]:
    form = request.form
    client_id, secret = form.get("client_id", ""), form.get("client_secret")
    if request.authorization and request.authorization.type == "basic":
        client_id = request.authorization.username or client_id
        secret = request.authorization.password or secret
    return client_id.strip(), secret


def _authenticate_client(ctx: SimContext, request: Request, tenant: Tenant | None) -> App:
    client_id, secret = _client_credentials_of(request)
    if not client_id:
        raise AadError(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    app = ctx.world.app(client_id)
    if app is None:
        raise _app_not_found(client_id, tenant)
    assertion = request.form.get("client_assertion")
    if secret is None and assertion:
        _verify_client_assertion(request, app, assertion)
        return app
    if secret is None:
        raise AadError(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
            status=401,
        )
    if not secrets.compare_digest(secret.encode(), app.client_secret.encode()):
        raise AadError(
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the "
            f"client secret value, not the client secret ID, for a secret added to app "
            f"'{app.client_id}'.",
            status=401,
        )
    return app


CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _registered_certificates(app: App) -> dict[str, x509.Certificate]:
    """The app's certificates by x5t (SHA-1) and x5t#S256 (SHA-256), base64url."""
    found: dict[str, x509.Certificate] = {}
    for pem in app.certificates:
        cert = x509.load_pem_x509_certificate(pem.encode())
        found[b64url(cert.fingerprint(hashes.SHA1()))] = cert  # noqa: S303 - what x5t is
        found[b64url(cert.fingerprint(hashes.SHA256()))] = cert
    return found


def _verify_client_assertion(request: Request, app: App, assertion: str) -> None:
    """A certificate credential: a JWT (RS256 with x5t, or PS256 with x5t#S256) signed by the
    key of a certificate registered on the app, iss = sub = client id, aud = token endpoint.

    Reference: https://learn.microsoft.com/entra/identity-platform/certificate-credentials
    """
    if request.form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise AadError(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_assertion_type'.",
        )
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise AadError(
            "invalid_client", 50027, "JWT token is invalid or malformed.", status=401
        ) from exc
    # MSAL pads its base64url thumbprints; RFC 7515 does not. Accept both.
    thumbprint = str(header.get("x5t#S256") or header.get("x5t") or "").rstrip("=")
    cert = _registered_certificates(app).get(thumbprint)
    if cert is None:
        try:
            shown = base64.urlsafe_b64decode(thumbprint + "=" * (-len(thumbprint) % 4)).hex()
        except ValueError:
            shown = thumbprint
        raise AadError(
            "invalid_client",
            700027,
            "The certificate with identifier used to sign the client assertion is not "
            "registered on application. [Reason - The key was not found., Thumbprint of key "
            f"used by client: '{shown.upper()}', Please visit the Azure Portal, Graph Explorer "
            f"or directly use MS Graph to see configured keys for app Id '{app.client_id}'.]",
            status=401,
        )
    try:
        claims = jwt.decode(
            assertion,
            cert.public_key(),
            algorithms=["RS256", "PS256"],
            options={"verify_aud": False, "require": ["exp", "iss", "sub", "aud"]},
            leeway=300,  # Entra tolerates five minutes of clock skew
        )
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
        raise AadError(
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
            status=401,
        ) from exc
    except jwt.MissingRequiredClaimError as exc:
        raise AadError(
            "invalid_client", 50027, "JWT token is invalid or malformed.", status=401
        ) from exc
    except jwt.PyJWTError as exc:
        raise AadError(
            "invalid_client", 700027, "Client assertion failed signature validation.", status=401
        ) from exc
    if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
        raise AadError(
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
            status=401,
        )
    # The audience is the token endpoint the assertion was made for (*unconfirmed* how
    # strictly Entra compares it; here: any of this simulator's token endpoints).
    audience = urlsplit(str(claims.get("aud", ""))).path
    if not audience.endswith(("/oauth2/v2.0/token", "/oauth2/token")):
        raise AadError(
            "invalid_client",
            700027,
            "Client assertion contains an invalid audience: it must be the token endpoint.",
            status=401,
        )


def _token_body(ctx: SimContext, request: Request, tenant_name: str, *, v1: bool) -> dict:
    form = request.form
    grant_type = form.get("grant_type", "")
    tenant = None if tenant_name.lower() in ALIASES else _resolve(ctx, tenant_name)
    if tenant is not None:
        request.environ["sim.tenant"] = tenant.id
    app = _authenticate_client(ctx, request, tenant)
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


def _requested_scopes(form: Any, fallback: str, *, tenant: Tenant | None, v1: bool) -> ScopeRequest:
    if v1:
        return parse_resource(form.get("resource", "") or fallback)
    return parse_scopes(form.get("scope", "") or fallback, tenant=tenant)


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
    return _user_token_response(ctx, agent, code_tenant, app, scopes, nonce=grant["nonce"], v1=v1)


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
    if not _may_sign_in(ctx, agent, target):
        raise _user_not_in_tenant(agent, target, app)
    if target.id != app.home_tenant_id and not app.preconsented:
        raise AadError(
            "invalid_grant",
            65001,
            f"The user or administrator has not consented to use the application with ID "
            f"'{app.client_id}' named '{app.display_name}'. Send an interactive authorization "
            "request for this user and resource.",
        )
    scopes = _requested_scopes(form, "", tenant=target, v1=v1)
    if ctx.faults.interaction_required(target.id):
        raise AadError(
            "interaction_required",
            50076,
            "Due to a configuration change made by your administrator, or because you moved to "
            "a new location, you must use multi-factor authentication to access "
            f"'{scopes.resource}'.",
            status=400,
        )
    body = _user_token_response(ctx, agent, target, app, scopes, nonce=None, v1=v1)
    return body


def _grant_client_credentials(
    ctx: SimContext, request: Request, tenant: Tenant, app: App, *, v1: bool
) -> dict[str, Any]:
    form = request.form
    if v1:
        resource = _canonical_resource(form.get("resource", ""))
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
        resource = _canonical_resource(resource_name)
        if resource is None:
            raise AadError(
                "invalid_resource",
                500011,
                f"The resource principal named {resource_name} was not found in the tenant "
                f"named {tenant.name}.",
            )
    roles = _app_roles(ctx, tenant, app, resource)
    iat, exp = _times(ctx, tenant.id)
    sp_oid = (
        app.sp_object_id
        if tenant.id == app.home_tenant_id
        else str(uuid.uuid5(uuid.UUID(app.sp_object_id), tenant.id))
    )
    claims = {
        "aud": resource,
        "iss": access_token_issuer(tenant.id),
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "app_displayname": app.display_name,
        "appid": app.client_id,
        "appidacr": "1",
        "azp": app.client_id,
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
        "access_token": ctx.signing.sign(claims),
    }
    if v1:
        body.update(_v1_extras(resource, iat, exp))
    return body


def _app_roles(ctx: SimContext, tenant: Tenant, app: App, resource: str) -> list[str]:
    """The app's roles in the tenant, or the error Entra answers when it has none there."""
    now = ctx.now()
    if ctx.world.app_access(app, tenant.id, now):
        return list(APPLICATION[resource])
    related = (
        tenant.partner_tenant_id == app.home_tenant_id
        and app.preconsented
        and tenant.relationship_status == "active"
    )
    # Before propagation Entra either does not know the app in the tenant yet, or issues a
    # token without the preconsented roles (REFERENCE.md: which one is unconfirmed).
    if related and ctx.faults.propagation_mode(tenant.id) == "no_roles":
        return []
    raise _app_not_found(app.client_id, tenant)


# --------------------------------------------------------------------------- authorize


def _redirect_allowed(app: App, redirect_uri: str) -> bool:
    """Loopback on any port (like Entra's native-client rule), or a registered URI."""
    if redirect_uri in app.redirect_uris:
        return True
    try:
        parts = urlsplit(redirect_uri)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost")


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
        tenant = None if tenant_name.lower() in ALIASES else _resolve(ctx, tenant_name)
        if tenant is not None:
            request.environ["sim.tenant"] = tenant.id
        client_id = params.get("client_id", "")
        app = ctx.world.app(client_id) if client_id else None
        if app is None:
            raise _app_not_found(client_id, tenant)
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri or not _redirect_allowed(app, redirect_uri):
            raise AadError(
                "invalid_request",
                50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match the "
                f"redirect URIs configured for the application '{app.client_id}'. Make sure the "
                "redirect URI sent in the request matches one added to your application in the "
                "Azure portal.",
            )
    except AadError as exc:
        return _error_page(exc)
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
        if _may_sign_in(ctx, sso_user, target):
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
    return _sign_in_page(ctx, auth, username=params.get("login_hint", ""))


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
        return _sign_in_page(ctx, auth, username=username, error=error)
    if not secrets.compare_digest(password.encode(), agent.password.encode()):
        error = AadError(
            "invalid_request",
            50126,
            "Error validating credentials due to invalid username or password.",
        )
        return _sign_in_page(ctx, auth, username=username, error=error)
    target = auth.tenant or ctx.world.tenants[agent.tenant_id]
    if not _may_sign_in(ctx, agent, target):
        error = _user_not_in_tenant(agent, target, auth.app)
        return _sign_in_page(ctx, auth, username=username, error=error)
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
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in values.items()
        )
        page = (
            "<!doctype html><html><head><title>Working...</title></head><body>"
            f'<form method="post" action="{html.escape(auth.redirect_uri)}">{fields}'
            '<p>Signed in. <input type="submit" value="Continue"></p></form></body></html>'
        )
        return Response(page, content_type="text/html; charset=utf-8")
    location = _add_params(auth.redirect_uri, values, mode=auth.mode)
    return Response("", status=302, headers={"Location": location, "Cache-Control": "no-store"})


# --------------------------------------------------------------------------- pages

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:"Segoe UI",Arial,sans-serif;background:#f2f2f2;margin:0}}
main{{max-width:440px;margin:8vh auto;background:#fff;padding:44px;box-shadow:0 2px 6px #0003}}
h1{{font-size:24px;font-weight:600;margin:0 0 16px}}
label{{display:block;margin:12px 0 4px}}
input[type=email],input[type=password]{{width:100%;padding:6px 0;border:0;
border-bottom:1px solid #666;font-size:15px}}
.error{{color:#e81123;margin:12px 0}} .meta{{color:#666;font-size:13px;margin-top:24px}}
button{{margin-top:24px;background:#0067b8;color:#fff;border:0;padding:8px 32px;font-size:15px}}
code{{font-size:12px;word-break:break-all}}
</style></head><body><main>{body}</main></body></html>"""


def _sign_in_page(
    ctx: SimContext, auth: _AuthRequest, *, username: str, error: AadError | None = None
) -> Response:
    tenant_line = (
        f"<p>Signing in to <strong>{html.escape(auth.tenant.name)}</strong></p>"
        if auth.tenant
        else ""
    )
    error_html = (
        f'<p class="error" id="usernameError" role="alert">{html.escape(str(error))}</p>'
        if error
        else ""
    )
    # The form posts back to this very URL; the query string keeps the request's parameters.
    action = html.escape(_current_url(auth))
    focus_login, focus_password = ("", " autofocus") if username else (" autofocus", "")
    body = (
        f"<h1>Sign in</h1><p>to continue to {html.escape(auth.app.display_name)}</p>"
        f"{tenant_line}{error_html}"
        f'<form method="post" action="{action}" autocomplete="off">'
        '<label for="i0116">Email, phone, or Skype</label>'
        f'<input type="email" name="login" id="i0116" value="{html.escape(username)}" required'
        f"{focus_login}>"
        '<label for="i0118">Password</label>'
        f'<input type="password" name="passwd" id="i0118" required{focus_password}>'
        '<button type="submit" id="idSIButton9">Sign in</button></form>'
        '<p class="meta">Microsoft Entra ID (local simulator)</p>'
    )
    return Response(
        _PAGE.format(title="Sign in to your account", body=body),
        content_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


def _current_url(auth: _AuthRequest) -> str:
    return "?" + urlencode(auth.params)


def _error_page(exc: AadError) -> Response:
    body = aadsts_body(exc.error, exc.code, exc.message)
    lines = body["error_description"].split("\r\n")
    details = "".join(f"<p><code>{html.escape(line)}</code></p>" for line in lines[1:])
    content = (
        "<h1>Sorry, but we're having trouble signing you in.</h1>"
        f'<p class="error" role="alert">{html.escape(lines[0])}</p>{details}'
    )
    return Response(
        _PAGE.format(title="Sign in error", body=content),
        status=exc.status,
        content_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


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
        response = Response(
            _PAGE.format(title="Signed out", body="<h1>You signed out of your account</h1>"),
            content_type="text/html; charset=utf-8",
        )
    response.delete_cookie(SSO_COOKIE, path="/")
    return response


# --------------------------------------------------------------------------- routes


def browser_url_rules() -> list[Rule]:
    """The pages a browser opens: served on the plain-HTTP port (and on HTTPS too)."""
    return [
        Rule("/<tenant>/oauth2/v2.0/authorize", endpoint=authorize_v2, methods=["GET", "POST"]),
        Rule("/<tenant>/oauth2/authorize", endpoint=authorize_v1, methods=["GET", "POST"]),
        Rule("/<tenant>/oauth2/v2.0/logout", endpoint=logout, methods=["GET", "POST"]),
        Rule("/<tenant>/oauth2/logout", endpoint=logout, methods=["GET", "POST"]),
    ]


def url_rules() -> list[Rule]:
    return [
        Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint=openid_configuration_v2),
        Rule("/<tenant>/.well-known/openid-configuration", endpoint=openid_configuration_v1),
        Rule("/<tenant>/discovery/v2.0/keys", endpoint=jwks),
        Rule("/<tenant>/discovery/keys", endpoint=jwks),
        Rule("/<tenant>/oauth2/v2.0/token", endpoint=token_v2, methods=["POST"]),
        Rule("/<tenant>/oauth2/token", endpoint=token_v1, methods=["POST"]),
        *browser_url_rules(),
    ]
