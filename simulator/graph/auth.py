"""Who is calling Graph: token validation (401), tenant access (403), permissions (403)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from simulator import access
from simulator.graph import intune_limits
from simulator.graph.errors import GraphError, forbidden, intune_forbidden, throttled
from simulator.tokens import GRAPH_AUDIENCES, InvalidToken, verify_access_token

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import Agent, Tenant

# Permission sets a read needs (any one of them), by area. Directory.Read.All opens every
# directory read, as in Graph; the write permissions imply the reads.
USERS = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
GROUPS = (
    "Group.Read.All",
    "GroupMember.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
DEVICES = ("Device.Read.All", "Directory.Read.All", "Directory.ReadWrite.All")
ORGANIZATION = (
    "Organization.Read.All",
    "User.Read",
    "User.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
CONTRACTS = ("Directory.Read.All", "Directory.ReadWrite.All")
APPLICATIONS = ("Application.Read.All", "Directory.Read.All", "Directory.ReadWrite.All")
# GDAP relationships and customers: only these two; Directory.Read.All does not open them.
# Reference: https://learn.microsoft.com/graph/api/tenantrelationship-list-delegatedadminrelationships
RELATIONSHIPS = (
    "DelegatedAdminRelationship.Read.All",
    "DelegatedAdminRelationship.ReadWrite.All",
)
MANAGED_DEVICES = (
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
)
DEVICE_CONFIGURATION = (
    "DeviceManagementConfiguration.Read.All",
    "DeviceManagementConfiguration.ReadWrite.All",
)
GROUP_MEMBER_WRITE = ("GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All")
# Writes of agent actions. Each is what the learn.microsoft.com page of the call lists; where
# a property has its own least privileged permission, the broad User.ReadWrite.All does not
# stand in for it (Graph refuses a password reset with User.ReadWrite.All alone).
# Reference: https://learn.microsoft.com/graph/api/user-update (permissions per property)
PASSWORD_PROFILE_WRITE = ("User-PasswordProfile.ReadWrite.All", "Directory.AccessAsUser.All")
ACCOUNT_ENABLED_WRITE = ("User.ReadWrite.All", "Directory.ReadWrite.All")
# User.EnableDisableAccount.All counts only together with a permission to read users.
ACCOUNT_ENABLED_LEAST = "User.EnableDisableAccount.All"
# Reference: https://learn.microsoft.com/graph/api/user-revokesigninsessions
REVOKE_SESSIONS = ("User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All")
# Reference: https://learn.microsoft.com/graph/api/device-update
DEVICE_WRITE_DELEGATED = ("Directory.AccessAsUser.All",)
DEVICE_WRITE_APP = ("Device.ReadWrite.All", "Directory.ReadWrite.All")
# syncDevice, rebootNow, retire and wipe: this one permission, delegated or application.
# Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-syncdevice
# Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-rebootnow
# Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-retire
# Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-wipe
PRIVILEGED_OPERATIONS = ("DeviceManagementManagedDevices.PrivilegedOperations.All",)
# A partner admin (the Global Administrator of the partner tenant in real life) may add
# members with a delegated token even though the demo app asks for no write scope.
ADMIN_ROLE = "Portal.Admin"

# Entra roles a delegated caller from the partner needs in a customer tenant (through GDAP;
# Global Administrator, which DAP gives AdminAgents, includes them all). The simulator's own
# table, kept apart from the portal's: it is the ruler the portal is measured against.
# Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference
# Reference: https://learn.microsoft.com/partner-center/customers/gdap-least-privileged-roles-by-task
ROLES_DIRECTORY_READ = ("Directory Readers", "Global Reader")
ROLES_INTUNE_READ = ("Intune Administrator", "Global Reader")
ROLES_GROUP_MEMBER_WRITE = ("Groups Administrator", "User Administrator")
ROLES_APPLICATIONS_READ = (
    *ROLES_DIRECTORY_READ,
    "Cloud Application Administrator",
    "Application Administrator",
)
# "Who can reset passwords": these roles reset the password of a user without an admin role.
# Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-reset-passwords
ROLES_PASSWORD_RESET = (
    "Helpdesk Administrator",
    "Password Administrator",
    "Authentication Administrator",
    "User Administrator",
    "Privileged Authentication Administrator",
)
# Blocking sign-in (microsoft.directory/users/disable, /enable): not the Helpdesk roles.
# Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference#user-administrator
ROLES_ENABLE_DISABLE_USER = ("User Administrator", "Privileged Authentication Administrator")
# microsoft.directory/users/invalidateAllRefreshTokens
# Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference#helpdesk-administrator
ROLES_REVOKE_SESSIONS = (
    "Helpdesk Administrator",
    "Authentication Administrator",
    "User Administrator",
    "Privileged Authentication Administrator",
)
ROLES_INTUNE_PRIVILEGED = ("Intune Administrator",)
# "A calling user in the Cloud Device Administrator role can only enable or disable devices."
# Reference: https://learn.microsoft.com/graph/api/device-update
ROLES_DEVICE_ENABLE = ("Intune Administrator", "Cloud Device Administrator")
# Granting Graph application permissions (appRoleAssignedTo) needs Privileged Role
# Administrator; Cloud/Application Administrator may not grant Microsoft Graph app roles.
ROLES_APP_ROLE_ASSIGNMENT = ("Privileged Role Administrator",)


@dataclass
class Caller:
    claims: dict[str, Any]
    tenant: Tenant
    app_id: str
    agent: Agent | None  # delegated tokens: the signed-in agent
    permissions: frozenset[str]  # scp (delegated) or roles (app-only)
    # Delegated callers: the Entra roles the agent holds in this tenant (None: its own tenant).
    entra_roles: frozenset[str] | None = None

    @property
    def delegated(self) -> bool:
        return self.agent is not None

    def require(
        self,
        any_of: tuple[str, ...],
        *,
        roles: tuple[str, ...] = (),
        intune: bool = False,
    ) -> None:
        """The token's permission (scp or roles) and, for a delegated caller in a customer
        tenant, one of the Entra `roles` (effective permission is their intersection).
        Intune answers its own error shape."""
        if not self.permissions & set(any_of):
            raise intune_forbidden(any_of, app=True) if intune else forbidden()
        if roles and self.delegated and not access.has_role(self.entra_roles, roles):
            raise intune_forbidden(any_of, app=False) if intune else forbidden()

    def require_write(self, any_of: tuple[str, ...], *, roles: tuple[str, ...] = ()) -> None:
        agent = self.agent
        if agent is not None and ADMIN_ROLE in agent.roles and agent.tenant_id == self.tenant.id:
            return
        self.require(any_of, roles=roles)


def _unauthorized(message: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'},
    )


def authenticate(
    ctx: SimContext,
    request: Request,
    *,
    throttle: bool = True,
    intune: tuple[str, ...] = (),
) -> Caller:
    """The caller of a Graph request, after the token, tenant access and throttling checks
    (Graph's global limit per app, Intune's service limits under /deviceManagement, then the
    `throttle` fault).

    `intune`: the request is for Intune, which needs one of these permissions; a caller
    without access to the tenant is refused in Intune's shape, as Intune answers it."""
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if not header:
        raise _unauthorized("Access token is empty.")
    if scheme.lower() != "bearer" or not raw.strip():
        raise _unauthorized("Access token validation failure. Invalid token format.")
    try:
        claims = verify_access_token(ctx, raw.strip(), audiences=GRAPH_AUDIENCES)
    except InvalidToken as exc:
        raise _unauthorized(str(exc) or "Access token validation failure.") from exc
    tenant = ctx.world.find_tenant(str(claims["tid"]))
    if tenant is None:  # verify_access_token checks this; a reset may race it
        raise _unauthorized("The tenant of the access token does not exist.")
    request.environ["sim.tenant"] = tenant.id
    app_id = str(claims.get("appid") or claims.get("azp") or "")
    request.environ["sim.caller"] = (
        str(claims.get("oid") or "") if claims.get("idtyp") == "user" else f"app:{app_id}"
    )
    if throttle:
        # Graph's global limit per app across all tenants (always on), Intune's own limits
        # (Microsoft's numbers unless a fault overrides them), then the injected `throttle`.
        check_global_limit(ctx, app_id)
        intune_limits.check(ctx, request, app_id, tenant.id)
        check_throttle(ctx, app_id, tenant.id)
    now = ctx.now()
    if claims.get("idtyp") == "user" or ("scp" in claims and "roles" not in claims):
        agent = ctx.world.agent_by_oid(str(claims.get("oid", "")))
        refused = intune_forbidden(intune, app=False) if intune else forbidden()
        if agent is None or not ctx.world.delegated_access(agent, tenant.id, now):
            raise refused
        held = access.agent_roles(ctx.world, agent, tenant, now)
        if held is not None and not held:
            # The token outlived the agent's access (group or assignment removed).
            raise refused
        scopes = frozenset(str(claims.get("scp", "")).split())
        return Caller(claims, tenant, app_id, agent, scopes, held)
    app = ctx.world.app(app_id)
    if app is None or not ctx.world.app_access(app, tenant.id, now):
        raise intune_forbidden(intune, app=True) if intune else forbidden()
    roles = claims.get("roles") or []
    return Caller(claims, tenant, app_id, None, frozenset(str(r) for r in roles))


def check_global_limit(ctx: SimContext, app_id: str) -> None:
    """Graph's 429 once the app sent its global limit of requests, counted across every
    tenant (130,000 per 10 seconds unless the `global_limit` fault lowers it).

    Reference: https://learn.microsoft.com/graph/throttling-limits"""
    retry_after = ctx.faults.graph_global(app_id)
    if retry_after is not None:
        raise throttled(retry_after)


def check_throttle(ctx: SimContext, app_id: str, tenant_id: str) -> None:
    retry_after = ctx.faults.throttle(app_id, tenant_id)
    if retry_after is not None:
        raise throttled(retry_after)
