"""Service principals of a tenant and the app roles (application permissions) assigned to
them: list and read them, and assign the partner app one of Microsoft Graph's app roles.

- GET /servicePrincipals (+ $filter=appId eq '…'), /servicePrincipals/{id} and
  /servicePrincipals(appId='{appId}'): Microsoft Graph's service principal is in every tenant,
  with its appRoles; the partner app's is in a customer only once the app is there (Partner
  Center's consent has propagated, or DAP's preconsent).
- GET /servicePrincipals/{id}/appRoleAssignments: the app roles the principal holds;
  GET /servicePrincipals/{id}/appRoleAssignedTo: those granted on the resource.
- POST /servicePrincipals/{resource id}/appRoleAssignedTo {"principalId", "resourceId",
  "appRoleId"}: 201, and client credentials carry the role from then on.

After Partner Center's application consent the app's service principal has delegated grants
only: client credentials carry no roles until an admin assigns Graph's app roles. Graph wants
AppRoleAssignment.ReadWrite.All *and* Application.Read.All (or Directory.Read.All) for that,
and the signed-in admin needs Privileged Role Administrator in the customer: Cloud
Application Administrator and Application Administrator may not grant Microsoft Graph's
application permissions.

# Reference: https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto
# Reference: https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments
# Reference: https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignedto
# Reference: https://learn.microsoft.com/graph/api/serviceprincipal-get
# Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/delegate-by-task#enterprise-applications
# Reference: https://github.com/microsoftgraph/microsoft-graph-docs/issues/12833 (without
#   Application.Read.All the POST answers 403 Authorization_RequestDenied)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from simulator import access
from simulator.graph import auth, entities, permissions
from simulator.graph.data import iso
from simulator.graph.errors import GraphError, bad_request, graph_json, not_found
from simulator.graph.odata import Collection
from simulator.graph.responses import collection_response, entity_response, metadata_url
from simulator.identity.scopes import APPLICATION, PARTNER_TENANT_APPLICATION
from simulator.signing import b64url
from simulator.tokens import GRAPH_APP_ID, GRAPH_AUDIENCE

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import App, Tenant

Item = dict[str, Any]

# Reading service principals and their assignments (least privileged first).
READ = ("Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All")
READ_ANY = (*READ, "Directory.ReadWrite.All")
# Assigning needs this one *and* one of READ_ANY.
ASSIGN = ("AppRoleAssignment.ReadWrite.All",)
# Graph's answers, as clients match them (the portal, CIPP, Microsoft's PowerShell samples).
ALREADY_ASSIGNED = "Permission being assigned already exists on the object"
ROLE_NOT_FOUND = "Permission being assigned was not found on application"
ASSIGNMENT_PROPERTIES = frozenset(
    (
        "id",
        "deletedDateTime",
        "appRoleId",
        "createdDateTime",
        "principalDisplayName",
        "principalId",
        "principalType",
        "resourceDisplayName",
        "resourceId",
    )
)


def _rows(ctx: SimContext, tenant: Tenant) -> tuple[Collection, list[Item]]:
    coll = entities.service_principals(ctx, tenant)
    return coll, [coll.item(i) for i in range(coll.size)]


def _find(ctx: SimContext, tenant: Tenant, key: str, *, by_app_id: bool) -> Item:
    """A service principal by object id or (`by_app_id`) by appId; Graph's 404 otherwise."""
    _, rows = _rows(ctx, tenant)
    field = "appId" if by_app_id else "id"
    wanted = key.strip().lower()
    for row in rows:
        if str(row[field]).lower() == wanted:
            return row
    raise not_found(key)


def _partner_app(ctx: SimContext, tenant: Tenant) -> App | None:
    region = ctx.world.region_of_tenant(tenant.id)
    return region.app if region else None


def _default_roles(app: App, tenant: Tenant) -> tuple[str, ...]:
    """What the app holds where nobody assigned it anything: its home tenant's grants, or
    what DAP's preconsent gives in a customer."""
    roles = APPLICATION[GRAPH_AUDIENCE]
    if tenant.id == app.home_tenant_id:
        roles = (*roles, *PARTNER_TENANT_APPLICATION.get(GRAPH_AUDIENCE, ()))
    return roles


def _assignments(ctx: SimContext, tenant: Tenant, principal: Item, graph_sp: Item) -> list[Item]:
    """The appRoleAssignments of a principal: the partner app's Graph app roles, or none."""
    app = _partner_app(ctx, tenant)
    if app is None or principal["appId"] != app.client_id:
        return []
    consent = tenant.app_consent
    since = consent.effective_at or tenant.created_at.timestamp()
    held = access.assigned_app_roles(app, tenant, _default_roles(app, tenant), ctx.now())
    items = []
    for role in held:
        try:
            role_id = permissions.app_role_id(role)
        except KeyError:
            continue  # set through /_sim/ with a name Graph does not have: nothing to show
        items.append(
            _assignment_item(
                ctx, tenant, principal, graph_sp, role_id, consent.assigned_at.get(role, since)
            )
        )
    return items


def _assignment_item(
    ctx: SimContext, tenant: Tenant, principal: Item, resource: Item, role_id: str, at: float
) -> Item:
    # Graph's appRoleAssignment ids are 43-character base64url strings.
    key = f"{ctx.world.seed}/{tenant.id}/{principal['id']}/{resource['id']}/{role_id}"
    return {
        "id": b64url(hashlib.sha256(key.encode()).digest()),
        "deletedDateTime": None,
        "appRoleId": role_id,
        "createdDateTime": iso(datetime.fromtimestamp(at, UTC)),
        "principalDisplayName": principal["displayName"],
        "principalId": principal["id"],
        "principalType": "ServicePrincipal",
        "resourceDisplayName": resource["displayName"],
        "resourceId": resource["id"],
    }


def _graph_sp(ctx: SimContext, tenant: Tenant) -> Item:
    return _find(ctx, tenant, GRAPH_APP_ID, by_app_id=True)


def _assignment_collection(entity_set: str, rows: list[Item]) -> Collection:
    return entities.rows_collection(
        entity_set,
        "microsoft.graph.appRoleAssignment",
        rows,
        extra_properties=ASSIGNMENT_PROPERTIES,
    )


# ----- handlers --------------------------------------------------------------------------
def list_service_principals(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.APPLICATIONS, roles=auth.ROLES_APPLICATIONS_READ)
    coll, _ = _rows(ctx, caller.tenant)
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def get_service_principal(
    ctx: SimContext, request: Request, *, version: str, sp_id: str = "", app_id: str = ""
) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.APPLICATIONS, roles=auth.ROLES_APPLICATIONS_READ)
    coll, _ = _rows(ctx, caller.tenant)
    row = _find(ctx, caller.tenant, app_id or sp_id, by_app_id=bool(app_id))
    return entity_response(ctx, request, version, coll, row)


def list_app_role_assignments(
    ctx: SimContext, request: Request, *, version: str, sp_id: str = "", app_id: str = ""
) -> Response:
    """GET …/appRoleAssignments: the app roles the service principal holds."""
    caller = auth.authenticate(ctx, request)
    caller.require(READ_ANY, roles=auth.ROLES_APPLICATIONS_READ)
    principal = _find(ctx, caller.tenant, app_id or sp_id, by_app_id=bool(app_id))
    rows = _assignments(ctx, caller.tenant, principal, _graph_sp(ctx, caller.tenant))
    entity_set = f"servicePrincipals('{principal['id']}')/appRoleAssignments"
    coll = _assignment_collection(entity_set, rows)
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def list_app_role_assigned_to(
    ctx: SimContext, request: Request, *, version: str, sp_id: str = "", app_id: str = ""
) -> Response:
    """GET …/appRoleAssignedTo: who holds app roles of this (resource) service principal."""
    caller = auth.authenticate(ctx, request)
    caller.require(READ_ANY, roles=auth.ROLES_APPLICATIONS_READ)
    resource = _find(ctx, caller.tenant, app_id or sp_id, by_app_id=bool(app_id))
    graph_sp = _graph_sp(ctx, caller.tenant)
    rows: list[Item] = []
    app = _partner_app(ctx, caller.tenant)
    if resource["id"] == graph_sp["id"] and app is not None:
        mine = [r for r in _rows(ctx, caller.tenant)[1] if r["appId"] == app.client_id]
        for principal in mine:
            rows += _assignments(ctx, caller.tenant, principal, graph_sp)
    entity_set = f"servicePrincipals('{resource['id']}')/appRoleAssignedTo"
    coll = _assignment_collection(entity_set, rows)
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def assign_app_role(
    ctx: SimContext, request: Request, *, version: str, sp_id: str = "", app_id: str = ""
) -> Response:
    """POST /servicePrincipals/{resource}/appRoleAssignedTo: give the partner app one of the
    resource's app roles. 201; 400 when it already holds it or the resource has no such role;
    404 when the principal is not there (yet)."""
    caller = auth.authenticate(ctx, request)
    caller.require(ASSIGN, roles=auth.ROLES_APP_ROLE_ASSIGNMENT)
    caller.require(READ_ANY)
    tenant = caller.tenant
    resource = _find(ctx, tenant, app_id or sp_id, by_app_id=bool(app_id))
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
        principal_id = str(body["principalId"]).strip().lower()
        resource_id = str(body["resourceId"]).strip().lower()
        role_id = str(body["appRoleId"]).strip().lower()
    except (ValueError, KeyError, TypeError) as exc:
        raise bad_request(
            'The request body must be {"principalId": …, "resourceId": …, "appRoleId": …}.'
        ) from exc
    if resource_id != resource["id"]:
        # Graph's sample addresses the resource in the URL and names it again in the body.
        raise bad_request(
            f"resourceId '{resource_id}' is not the service principal '{resource['id']}' the "
            "request is addressed to."
        )
    offered = {str(r["id"]).lower(): r["value"] for r in resource.get("appRoles") or []}
    role = offered.get(role_id)
    if role is None:
        raise bad_request(ROLE_NOT_FOUND)
    app = _partner_app(ctx, tenant)
    _, rows = _rows(ctx, tenant)
    principal = next((r for r in rows if r["id"] == principal_id), None)
    if app is None or principal is None or principal["appId"] != app.client_id:
        # Only the partner app's service principal receives app roles in the simulator; in a
        # customer it exists once Partner Center's consent has propagated.
        raise not_found(principal_id)
    held = access.assigned_app_roles(app, tenant, _default_roles(app, tenant), ctx.now())
    if role in held:
        raise bad_request(ALREADY_ASSIGNED)
    if not tenant.app_consent.present(ctx.now()):
        raise GraphError(
            501,
            "NotImplemented",
            "The simulator keeps the app's app roles fixed in its home tenant and where only "
            "DAP's preconsent put it; it assigns app roles after Partner Center's consent.",
        )
    now = ctx.now()
    tenant.app_consent.app_roles.append(role)
    tenant.app_consent.assigned_at[role] = now
    item = _assignment_item(ctx, tenant, principal, resource, role_id, now)
    fragment = f"servicePrincipals('{resource['id']}')/appRoleAssignedTo/$entity"
    body = {"@odata.context": metadata_url(ctx, version, fragment), **item}
    return graph_json(request, body, 201)


_BY_ID = "/servicePrincipals/<sp_id>"
_BY_APP_ID = "/servicePrincipals(appId='<app_id>')"

# (path after the version, handler, methods): routed by simulator.graph.routes.
ROUTES: tuple[tuple[str, Callable[..., Response], tuple[str, ...]], ...] = (
    ("/servicePrincipals", list_service_principals, ("GET",)),
    *(
        route
        for base in (_BY_ID, _BY_APP_ID)
        for route in (
            (base, get_service_principal, ("GET",)),
            (f"{base}/appRoleAssignments", list_app_role_assignments, ("GET",)),
            (f"{base}/appRoleAssignedTo", list_app_role_assigned_to, ("GET",)),
            (f"{base}/appRoleAssignedTo", assign_app_role, ("POST",)),
        )
    ),
)
