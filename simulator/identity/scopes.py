"""What a token request asks for: the v2 `scope` and v1 `resource` parameters, and the
delegated and application permissions each resource grants the partner app.

Reference: https://learn.microsoft.com/entra/identity-platform/scopes-oidc
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator import access
from simulator.identity.errors import AadError, consent_required, invalid_scope
from simulator.tokens import (
    GRAPH_AUDIENCE,
    GRAPH_AUDIENCES,
    PARTNER_CENTER_AUDIENCE,
    PARTNER_CENTER_AUDIENCES,
)
from simulator.world import APP_PERMISSIONS, APP_WRITE_SCOPES, PARTNER_TENANT_APP_PERMISSIONS

if TYPE_CHECKING:
    from simulator.world import App, Tenant

OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
# Delegated permissions each resource grants to the partner app (".default" = all of them).
DELEGATED: dict[str, tuple[str, ...]] = {
    # Application.Read.All + AppRoleAssignment.ReadWrite.All: an admin gives the app its app
    # roles in a customer after Partner Center's consent (granted there only if consented).
    GRAPH_AUDIENCE: (
        "User.Read",
        *APP_PERMISSIONS,
        "Application.Read.All",
        "AppRoleAssignment.ReadWrite.All",
        *APP_WRITE_SCOPES,
    ),
    PARTNER_CENTER_AUDIENCE: ("user_impersonation",),
}
# Application permissions (app roles) each resource grants for client_credentials.
APPLICATION: dict[str, tuple[str, ...]] = {
    GRAPH_AUDIENCE: APP_PERMISSIONS,
    PARTNER_CENTER_AUDIENCE: (),
}
# Application permissions the partner app holds only in its own (partner) tenant.
PARTNER_TENANT_APPLICATION: dict[str, tuple[str, ...]] = {
    GRAPH_AUDIENCE: PARTNER_TENANT_APP_PERMISSIONS,
}


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


def delegated(resource: str, tenant: Tenant | None) -> tuple[str, ...]:
    """Delegated permissions the app requests for `resource` (more in the partner's own)."""
    granted = DELEGATED[resource]
    if tenant is not None and tenant.kind == "partner":
        granted = (*granted, *PARTNER_TENANT_APPLICATION.get(resource, ()))
    return granted


def granted_in(
    resource: str, tenant: Tenant | None, app: App | None, now: float | None = None
) -> tuple[str, ...]:
    """What of those the tenant has granted the app: in a customer, Graph's delegated grants
    are the consent's (Partner Center application consent once propagated by `now`, or DAP's
    preconsent)."""
    requested = delegated(resource, tenant)
    if tenant is not None and tenant.kind == "partner":
        # The partner's admin consented to the reads (and GDAP management) at home; the
        # write scopes are for customers, so an agent's home token never carries them.
        return tuple(p for p in requested if p not in APP_WRITE_SCOPES)
    if app is None or tenant is None or tenant.kind != "customer" or resource != GRAPH_AUDIENCE:
        return requested
    return access.delegated_grants(app, tenant, requested, now)


def canonical_resource(name: str) -> str | None:
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


def parse_scopes(
    raw: str, *, tenant: Tenant | None = None, app: App | None = None, now: float | None = None
) -> ScopeRequest:
    scopes = raw.split()
    oidc = tuple(s for s in scopes if s in OIDC_SCOPES)
    others = [s for s in scopes if s not in OIDC_SCOPES]
    if not others:
        # A sign-in-only request still yields a Graph token for the signed-in user.
        return ScopeRequest(GRAPH_AUDIENCE, ("User.Read",), (), oidc)
    resources: dict[str, list[str]] = {}
    for scope in others:
        resource_name, permission = _split_scope(scope)
        resource = canonical_resource(resource_name)
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
    allowed = delegated(resource, tenant)
    in_tenant = granted_in(resource, tenant, app, now)
    if ".default" in permissions:
        granted: tuple[str, ...] = in_tenant
    else:
        unknown = [p for p in permissions if p.lower() not in {a.lower() for a in allowed}]
        if unknown:
            raise invalid_scope(unknown[0])
        wanted = {p.lower() for p in permissions}
        if app is not None and tenant is not None and wanted - {g.lower() for g in in_tenant}:
            # Registered, but this tenant never consented to it.
            raise consent_required(app, tenant)
        granted = tuple(a for a in in_tenant if a.lower() in wanted)
    return ScopeRequest(resource, granted, tuple(others), oidc)


def parse_resource(
    raw: str, *, tenant: Tenant | None = None, app: App | None = None, now: float | None = None
) -> ScopeRequest:
    """The v1 `resource=` parameter (default Graph, like the seed's sign-in)."""
    resource = canonical_resource(raw) if raw else GRAPH_AUDIENCE
    if resource is None:
        raise AadError(
            "invalid_resource",
            500011,
            f"The resource principal named {raw} was not found in the tenant.",
        )
    return ScopeRequest(resource, granted_in(resource, tenant, app, now), (), ("openid",))
