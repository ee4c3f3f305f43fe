"""Directory roles of a customer's own users, and who may act on whom because of them.

Each seeded customer has one Global Administrator and one User Administrator among its users
(simulator.graph.data `role_holders`). Graph shows them as activated directoryRole objects:
GET /directoryRoles, GET /directoryRoles/{id}/members, and in a user's /memberOf.

A delegated caller's Entra roles decide whose password it may reset (and whose refresh tokens
it may invalidate), and on whom it may perform sensitive actions such as disabling the
account: Microsoft's two tables, kept here as data. Graph refuses the others with its 403.

Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-reset-passwords
Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-perform-sensitive-actions
Reference: https://learn.microsoft.com/graph/api/directoryrole-list
Reference: https://learn.microsoft.com/graph/api/directoryrole-list-members
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from simulator import access, gdap
from simulator.graph import auth, entities
from simulator.graph.data import digest, guid_from
from simulator.graph.errors import forbidden, not_found
from simulator.graph.responses import collection_response

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import Tenant

GLOBAL_ADMIN = access.DAP_ROLE
# A caller role in one of these columns acts on a user holding any role at all ("All other
# built-in and custom roles").
ANY_TARGET = frozenset({"*"})
_READERS = frozenset({"Directory Readers", "Guest Inviter", "Message Center Reader"})
_REPORTS = frozenset(
    {"Reports Reader", "User Experience Success Manager", "Usage Summary Reports Reader"}
)

# "Who can reset passwords": for each role that can reset passwords and invalidate refresh
# tokens (the columns), the roles of the users it may do so for (the rows with a check).
# A user without an admin role is every column's; a Global Administrator only PAA's and GA's.
RESET_PASSWORD: dict[str, frozenset[str]] = {
    "Password Administrator": frozenset(
        {"Directory Readers", "Guest Inviter", "Password Administrator"}
    ),
    "Helpdesk Administrator": _READERS
    | _REPORTS
    | {"Helpdesk Administrator", "Password Administrator"},
    "Authentication Administrator": _READERS
    | _REPORTS
    | {"Authentication Administrator", "Password Administrator"},
    "User Administrator": _READERS
    | _REPORTS
    | {
        "Groups Administrator",
        "Helpdesk Administrator",
        "Password Administrator",
        "User Administrator",
    },
    "Privileged Authentication Administrator": ANY_TARGET,
    GLOBAL_ADMIN: ANY_TARGET,
}
# "Who can perform sensitive actions" (accountEnabled, passwordProfile, businessPhones, …).
SENSITIVE_ACTIONS: dict[str, frozenset[str]] = {
    "Authentication Administrator": _READERS
    | _REPORTS
    | {"Authentication Administrator", "Password Administrator"},
    "User Administrator": RESET_PASSWORD["User Administrator"],
    "Privileged Authentication Administrator": ANY_TARGET,
    GLOBAL_ADMIN: ANY_TARGET,
}

_DESCRIPTIONS = {
    GLOBAL_ADMIN: "Can manage all aspects of Microsoft Entra ID and Microsoft services that "
    "use Microsoft Entra identities.",
    "User Administrator": "Can manage all aspects of users and groups, including resetting "
    "passwords for limited admins.",
}
ROLE_PROPERTIES = frozenset(
    {"@odata.type", "id", "deletedDateTime", "description", "displayName", "roleTemplateId"}
)
# RoleManagement.Read.Directory is the least privileged; the directory-wide ones pass too.
READ = (
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)


def target_roles(ctx: SimContext, tenant: Tenant, index: int) -> frozenset[str]:
    """The directory roles user `index` of `tenant` holds (empty: no admin role)."""
    role = entities.data_for(ctx, tenant).role_holders().get(index)
    return frozenset({role}) if role else frozenset()


def may_act(
    held: frozenset[str] | None, target: frozenset[str], table: dict[str, frozenset[str]]
) -> bool:
    """Whether one of the caller's roles (`held`; None: its own tenant, unbounded) may act on
    a user holding `target`: one column of `table` must cover every role the user holds. A
    role that is not a column does not count here (the permission check names those)."""
    if held is None:
        return True
    for role in held:
        allowed = table.get(role)
        if allowed is None:
            continue
        if allowed is ANY_TARGET or target <= allowed:
            return True
    return False


def require_may_act(
    caller: auth.Caller, target: frozenset[str], table: dict[str, frozenset[str]]
) -> None:
    """Graph's 403 when a delegated caller's roles may not act on a user holding `target`."""
    if caller.delegated and target and not may_act(caller.entra_roles, target, table):
        raise forbidden()


# Roles Entra labels PRIVILEGED among those the tables name (the seeded admins hold two).
# Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference
PRIVILEGED = frozenset(
    {
        GLOBAL_ADMIN,
        "User Administrator",
        "Helpdesk Administrator",
        "Password Administrator",
        "Authentication Administrator",
        "Privileged Authentication Administrator",
        "Privileged Role Administrator",
    }
)
# Delegated, a sensitive property of a privileged user also takes this permission.
SENSITIVE_DELEGATED = "Directory.AccessAsUser.All"


def require_sensitive_action(caller: auth.Caller, target: frozenset[str]) -> None:
    """A sensitive property (accountEnabled) of a user holding `target`: a delegated caller
    needs a role of the sensitive-actions table that covers the user and, for a privileged
    user, Directory.AccessAsUser.All; an app needs such a role itself, and the simulator
    assigns apps none, so apps are refused for privileged users.

    Reference: https://learn.microsoft.com/graph/api/user-update ("To update sensitive user
    properties, such as accountEnabled ... for users with privileged administrator roles")"""
    privileged = bool(target & PRIVILEGED)
    if not caller.delegated:
        if privileged:
            raise forbidden()
        return
    require_may_act(caller, target, SENSITIVE_ACTIONS)
    if privileged and SENSITIVE_DELEGATED not in caller.permissions:
        raise forbidden()


def role_object(ctx: SimContext, tenant: Tenant, name: str) -> dict[str, Any]:
    """An activated directoryRole: its id is the tenant's own, roleTemplateId Entra's."""
    return {
        "@odata.type": "#microsoft.graph.directoryRole",
        "id": guid_from(digest(ctx.world.seed, tenant.id, "directory-role", name)),
        "deletedDateTime": None,
        "description": _DESCRIPTIONS.get(name, name),
        "displayName": name,
        "roleTemplateId": gdap.ROLE_IDS[name],
    }


def held_roles(ctx: SimContext, tenant: Tenant) -> dict[str, list[int]]:
    """{role name: user indexes holding it} in `tenant`, in a fixed order."""
    out: dict[str, list[int]] = {}
    for index, name in sorted(entities.data_for(ctx, tenant).role_holders().items()):
        out.setdefault(name, []).append(index)
    return out


def member_of_rows(ctx: SimContext, tenant: Tenant, index: int) -> list[dict[str, Any]]:
    """The directoryRole objects user `index` is a member of (for /users/{id}/memberOf)."""
    return [role_object(ctx, tenant, name) for name in sorted(target_roles(ctx, tenant, index))]


def directory_roles(ctx: SimContext, request: Request, *, version: str) -> Response:
    """GET /directoryRoles: the tenant's activated roles (those someone holds)."""
    caller = auth.authenticate(ctx, request)
    caller.require(READ, roles=auth.ROLES_DIRECTORY_READ)
    rows = [role_object(ctx, caller.tenant, name) for name in held_roles(ctx, caller.tenant)]
    coll = entities.rows_collection(
        "directoryRoles", "microsoft.graph.directoryRole", rows, extra_properties=ROLE_PROPERTIES
    )
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def directory_role_members(
    ctx: SimContext, request: Request, *, version: str, role_id: str
) -> Response:
    """GET /directoryRoles/{id}/members: the users holding the role; 404 for another id."""
    caller = auth.authenticate(ctx, request)
    caller.require(READ, roles=auth.ROLES_DIRECTORY_READ)
    tenant = caller.tenant
    for name, indexes in held_roles(ctx, tenant).items():
        if role_object(ctx, tenant, name)["id"] == role_id.lower():
            users = entities.user_set(ctx, tenant)
            rows = [
                {
                    "@odata.type": "#microsoft.graph.user",
                    **{k: users.item(i).get(k) for k in entities.USER_DEFAULT},
                }
                for i in indexes
            ]
            coll = entities.rows_collection(
                "directoryObjects",
                "microsoft.graph.directoryObject",
                rows,
                extra_properties=entities.USER_PROPERTIES | {"@odata.type"},
            )
            return collection_response(ctx, request, version, coll, tenant.id)
    raise not_found(role_id)


ROUTES = (
    ("/directoryRoles", directory_roles, ("GET",)),
    ("/directoryRoles/<role_id>/members", directory_role_members, ("GET",)),
)
