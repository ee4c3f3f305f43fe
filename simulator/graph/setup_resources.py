"""What a portal admin's setup check reads in a partner tenant, beyond the directory handlers.

- GET /applications (+ /applications/{id}): the partner-managed app registration, with its
  signInAudience (AzureADMultipleOrgs while multi-tenant).
- GET /servicePrincipals/{id}/memberOf: the groups a service principal is in (AdminAgents
  once preconsented).
- DELETE /groups/{id}/members/{objectId}/$ref: remove a member (undoes preconsent).

The /_sim/ controls that change the same state (revoke preconsent, multi-tenant, certificates)
are in simulator/control.py.

Reference: https://learn.microsoft.com/en-us/graph/api/application-list
Reference: https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-memberof
Reference: https://learn.microsoft.com/en-us/graph/api/group-delete-members
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cryptography import x509
from werkzeug.wrappers import Request, Response

from simulator.certs import certificate_thumbprint
from simulator.graph import auth, entities, resources
from simulator.graph.data import digest, guid_from, iso
from simulator.graph.errors import graph_headers, not_found
from simulator.graph.responses import collection_response, entity_response

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import App, Tenant

ADMIN_AGENTS = "AdminAgents"


def _application_rows(ctx: SimContext, tenant: Tenant) -> list[dict[str, Any]]:
    app = entities.partner_app(ctx.world, tenant)
    if app is None:  # apps are registered in their home (partner) tenant only
        return []
    created = tenant.created_at + timedelta(days=30)
    return [
        {
            "id": guid_from(digest(ctx.world.seed, tenant.id, "application", app.client_id)),
            "appId": app.client_id,
            "displayName": app.display_name,
            "signInAudience": "AzureADMultipleOrgs" if app.multi_tenant else "AzureADMyOrg",
            "publisherDomain": tenant.domain,
            "createdDateTime": iso(created),
            "identifierUris": [],
            "keyCredentials": _key_credentials(app),
            "tags": [],
        }
    ]


def _applications(ctx: SimContext, tenant: Tenant) -> Any:
    rows = _application_rows(ctx, tenant)
    coll = entities.rows_collection("applications", "microsoft.graph.application", rows)
    if not rows:  # an empty set still knows its properties ($select/$filter on appId)
        props = frozenset(("id", "appId", "displayName", "signInAudience", "publisherDomain"))
        coll = type(coll)(**{**coll.__dict__, "properties": props})
    return coll


def applications(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.APPLICATIONS, roles=auth.ROLES_APPLICATIONS_READ)
    return collection_response(
        ctx, request, version, _applications(ctx, caller.tenant), caller.tenant.id
    )


def application(ctx: SimContext, request: Request, *, version: str, app_id: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.APPLICATIONS, roles=auth.ROLES_APPLICATIONS_READ)
    for row in _application_rows(ctx, caller.tenant):
        if row["id"] == app_id.lower():
            return entity_response(ctx, request, version, _applications(ctx, caller.tenant), row)
    raise not_found(app_id)


def _admin_agents_row(ctx: SimContext, tenant: Tenant) -> dict[str, Any] | None:
    for row in entities.data_for(ctx, tenant).groups():
        if row["displayName"] == ADMIN_AGENTS:
            return row
    return None


def service_principal_member_of(
    ctx: SimContext, request: Request, *, version: str, sp_id: str
) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.APPLICATIONS, roles=auth.ROLES_APPLICATIONS_READ)
    sp_id = sp_id.lower()
    known = {
        row["id"]
        for row in (
            entities.service_principals(ctx, caller.tenant).item(i)
            for i in range(entities.service_principals(ctx, caller.tenant).size)
        )
    }
    if sp_id not in known:
        raise not_found(sp_id)
    app = entities.partner_app(ctx.world, caller.tenant)
    groups = []
    for row in entities.data_for(ctx, caller.tenant).groups():
        preconsented = (
            app is not None
            and app.preconsented
            and sp_id == app.sp_object_id
            and row["displayName"] == ADMIN_AGENTS
        )
        added = sp_id in entities.ADDED_MEMBERS.get(ctx.world, caller.tenant.id, row["id"])
        if preconsented or added:
            groups.append({"@odata.type": "#microsoft.graph.group", **row})
    coll = entities.rows_collection("directoryObjects", "microsoft.graph.directoryObject", groups)
    if not groups:
        coll = type(coll)(**{**coll.__dict__, "properties": frozenset(("id", "displayName"))})
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def remove_group_member(
    ctx: SimContext, request: Request, *, version: str, group_id: str, object_id: str
) -> Response:
    """DELETE /groups/{id}/members/{objectId}/$ref: 204, or 404 when it is not a member."""
    caller = auth.authenticate(ctx, request)
    caller.require_write(auth.GROUP_MEMBER_WRITE, roles=auth.ROLES_GROUP_MEMBER_WRITE)
    _, row = resources._find_group(ctx, caller, group_id)
    object_id = object_id.lower()
    app = entities.partner_app(ctx.world, caller.tenant)
    if (
        app is not None
        and app.preconsented
        and object_id == app.sp_object_id
        and row["displayName"] == ADMIN_AGENTS
    ):
        app.preconsented = False
        return Response(status=204, headers=graph_headers(request))
    raise not_found(object_id)


def _key_credentials(app: App) -> list[dict[str, Any]]:
    credentials = []
    for pem in getattr(app, "certificates", ()):
        cert = x509.load_pem_x509_certificate(pem.encode())
        credentials.append(
            {
                "customKeyIdentifier": certificate_thumbprint(pem),
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "startDateTime": iso(cert.not_valid_before_utc),
                "endDateTime": iso(cert.not_valid_after_utc),
            }
        )
    return credentials


# (path after the version, handler, methods): routed by simulator.graph.routes.
ROUTES: tuple[tuple[str, Callable[..., Response], tuple[str, ...]], ...] = (
    ("/applications", applications, ("GET",)),
    ("/applications/<app_id>", application, ("GET",)),
    ("/servicePrincipals/<sp_id>/memberOf", service_principal_member_of, ("GET",)),
    ("/groups/<group_id>/members/<object_id>/$ref", remove_group_member, ("DELETE",)),
)
