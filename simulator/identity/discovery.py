"""OpenID Connect discovery (v2.0 and v1) and the JWKS, under every tenant and the aliases.

Reference: https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from simulator.identity.errors import AadError, aadsts_error, entra_json
from simulator.identity.tenants import ALIASES, resolve_tenant
from simulator.tokens import access_token_issuer

if TYPE_CHECKING:
    from simulator.context import SimContext

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


def _discovery_tenant(ctx: SimContext, request: Request, tenant: str) -> str:
    """The GUID the document's endpoints use (aliases stay as they are, like Entra)."""
    if tenant.lower() in ALIASES:
        return tenant.lower()
    found = resolve_tenant(ctx, tenant)
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
        # Served by this simulator's Graph (simulator/identity/userinfo.py), as by Graph.
        "userinfo_endpoint": f"{ctx.endpoints.graph}/oidc/userinfo",
        # The sign-in page is on the plain-HTTP origin so a browser needs no CA.
        "authorization_endpoint": f"{browser}/{tid}/oauth2/v2.0/authorize",
        # No device_authorization_endpoint: the simulator has no device code flow, and a
        # document must not advertise an endpoint that is not served.
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{browser}/{tid}/oauth2/v2.0/logout",
        "claims_supported": CLAIMS_SUPPORTED,
        "kerberos_endpoint": f"{login}/{tid}/kerberos",
        # A tenant's geography; null for /common and /organizations, which are no tenant.
        "tenant_region_scope": (None if region is None else "EU" if region.slug == "eu" else "NA"),
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }
    return entra_json(doc)


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
    return entra_json(doc)


def jwks(ctx: SimContext, request: Request, tenant: str) -> Response:
    """The signing keys; each carries the `issuer` it signs for (`{tenantid}` under the
    aliases), so a multi-tenant client can check a token's iss against its key.

    Reference: https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-the-issuer
    """
    try:
        tid = _discovery_tenant(ctx, request, tenant)
    except AadError as exc:
        return aadsts_error(exc.error, exc.code, exc.message, status=exc.status)
    issuer_tid = "{tenantid}" if tid in ALIASES else tid
    issuer = f"{ctx.endpoints.login}/{issuer_tid}/v2.0"
    keys = [{**key, "issuer": issuer} for key in ctx.signing.jwks()["keys"]]
    return entra_json({"keys": keys})
