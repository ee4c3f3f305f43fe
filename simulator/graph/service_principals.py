"""The app's service principal in a customer tenant and its app roles (application
permissions) on Microsoft Graph: read them, and assign one (appRoleAssignedTo).

After Partner Center's application consent the app's service principal exists with delegated
grants only; client credentials carry no roles until an admin of the customer assigns the
app its Graph app roles. That admin needs Privileged Role Administrator there (through GDAP),
and a delegated token with AppRoleAssignment.ReadWrite.All and Application.Read.All.

# Reference: https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto
# Reference: https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments
# Reference: https://learn.microsoft.com/graph/permissions-reference (app role ids)
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from simulator.graph import auth, entities
from simulator.graph.errors import GraphError, bad_request, graph_json, not_found
from simulator.graph.responses import collection_response
from simulator.tokens import GRAPH_APP_ID

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import App, Tenant

# Microsoft Graph's application permissions (appRoles) the partner app uses, by value.
GRAPH_APP_ROLES: dict[str, str] = {
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "Device.Read.All": "7438b122-aefc-4978-80ed-43db9fcc7715",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "DeviceManagementManagedDevices.Read.All": "2f51be20-0bb4-4fed-bf7b-db946066c75e",
    "DeviceManagementConfiguration.Read.All": "dc377aa6-52d8-4e23-b271-2a7ae04cedf3",
}
_ROLE_NAMES = {v: k for k, v in GRAPH_APP_ROLES.items()}
# Reading assignments: Application.Read.All (or higher); assigning: both of these, delegated.
READ = ("Application.Read.All", "Directory.Read.All", "Application.ReadWrite.All")
ASSIGN = ("AppRoleAssignment.ReadWrite.All",)


def graph_app_roles() -> list[dict[str, Any]]:
    """The `appRoles` of Microsoft Graph's service principal (those the simulator knows)."""
    return [
        {
            "id": role_id,
            "value": value,
            "allowedMemberTypes": ["Application"],
            "displayName": value,
            "description": f"{value} (application permission)",
            "isEnabled": True,
            "origin": "Application",
        }
        for value, role_id in GRAPH_APP_ROLES.items()
    ]


def _partner_app(ctx: SimContext, tenant: Tenant) -> App | None:
    region = ctx.world.region_of_tenant(tenant.id)
    return region.app if region else None


def _sp_ids(ctx: SimContext, tenant: Tenant) -> tuple[str, str | None]:
    """(Microsoft Graph's service principal id, the partner app's, None when absent)."""
    coll = entities.service_principals(ctx, tenant)
    rows = [coll.item(i) for i in range(coll.size)]
    graph = next(r["id"] for r in rows if r["appId"] == GRAPH_APP_ID)
    app = _partner_app(ctx, tenant)
    mine = next((r["id"] for r in rows if app and r["appId"] == app.client_id), None)
    return graph, mine


def _assignment(tenant: Tenant, principal: str, resource: str, role: str) -> dict[str, Any]:
    raw = hashlib.sha256(f"{tenant.id}/{principal}/{role}".encode()).digest()
    return {
        "id": uuid.UUID(bytes=raw[:16]).hex[:22],
        "appRoleId": GRAPH_APP_ROLES[role],
        "principalId": principal,
        "principalType": "ServicePrincipal",
        "resourceId": resource,
        "resourceDisplayName": "Microsoft Graph",
        "createdDateTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "deletedDateTime": None,
    }


def _held_roles(ctx: SimContext, tenant: Tenant) -> list[str]:
    from simulator import access
    from simulator.identity.scopes import APPLICATION
    from simulator.tokens import GRAPH_AUDIENCE

    app = _partner_app(ctx, tenant)
    if app is None:
        return []
    return list(access.app_roles(app, tenant, APPLICATION[GRAPH_AUDIENCE]))


def app_role_assignments(
    ctx: SimContext, request: Request, *, version: str, sp_id: str
) -> Response:
    """GET /servicePrincipals/{id}/appRoleAssignments: the app roles the principal holds."""
    caller = auth.authenticate(ctx, request)
    caller.require(READ, roles=auth.ROLES_APPLICATIONS_READ)
    graph_sp, mine = _sp_ids(ctx, caller.tenant)
    sp_id = sp_id.lower()
    if sp_id not in (graph_sp, mine):
        raise not_found(sp_id)
    rows = (
        [_assignment(caller.tenant, sp_id, graph_sp, r) for r in _held_roles(ctx, caller.tenant)]
        if sp_id == mine
        else []
    )
    coll = entities.rows_collection(
        f"servicePrincipals('{sp_id}')/appRoleAssignments",
        "microsoft.graph.appRoleAssignment",
        rows,
        extra_properties=frozenset(
            {"id", "appRoleId", "principalId", "principalType", "resourceId", "resourceDisplayName"}
        ),
    )
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def app_role_assigned_to(
    ctx: SimContext, request: Request, *, version: str, sp_id: str
) -> Response:
    """POST /servicePrincipals/{resource}/appRoleAssignedTo: give a principal an app role of
    the resource. 201; 400 when it already holds it or the role is not the resource's."""
    caller = auth.authenticate(ctx, request)
    caller.require(ASSIGN, roles=auth.ROLES_APP_ROLE_ASSIGNMENT)
    caller.require(READ)
    graph_sp, mine = _sp_ids(ctx, caller.tenant)
    if sp_id.lower() != graph_sp:
        raise not_found(sp_id)
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
        principal = str(body["principalId"]).lower()
        resource = str(body["resourceId"]).lower()
        role_id = str(body["appRoleId"]).lower()
    except (ValueError, KeyError, TypeError) as exc:
        raise bad_request("principalId, resourceId and appRoleId are required.") from exc
    if resource != graph_sp:
        raise bad_request("resourceId must be the service principal in the request URL.")
    role = _ROLE_NAMES.get(role_id)
    if role is None:
        raise bad_request(
            f"Permission {role_id} does not exist on the resource service principal.",
            code="Request_BadRequest",
        )
    if mine is None or principal != mine:
        raise not_found(principal)
    consent = caller.tenant.app_consent
    if role in _held_roles(ctx, caller.tenant):
        raise GraphError(
            400,
            "Request_BadRequest",
            "Permission being assigned already exists on the object",
        )
    if not consent.consented:  # DAP preconsent: its roles are fixed, nothing to add
        raise bad_request("The principal's app roles cannot be changed here.")
    consent.app_roles.append(role)
    item = _assignment(caller.tenant, principal, graph_sp, role)
    context = f"https://graph.microsoft.com/{version}/$metadata#servicePrincipals('{graph_sp}')/appRoleAssignedTo/$entity"
    return graph_json(request, {"@odata.context": context, **item}, 201)


ROUTES = (
    ("/servicePrincipals/<sp_id>/appRoleAssignments", app_role_assignments, ("GET",)),
    ("/servicePrincipals/<sp_id>/appRoleAssignedTo", app_role_assigned_to, ("POST",)),
)
