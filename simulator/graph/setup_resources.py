"""What a portal admin's setup check reads in a partner tenant, beyond the directory handlers.

- GET /applications (+ /applications/{id}): the partner-managed app registration, with its
  signInAudience (AzureADMultipleOrgs while multi-tenant).
- GET /servicePrincipals/{id}/memberOf: the groups a service principal is in (AdminAgents
  once preconsented).
- DELETE /groups/{id}/members/{objectId}/$ref: remove a member (undoes preconsent).
- POST /_sim/regions/{slug}/revoke-preconsent and POST /_sim/regions/{slug}/app
  ({"multi_tenant": bool, "preconsented": bool}): test controls for the same state.
- POST /_sim/regions/{slug}/app/certificates ({"certificate": PEM}): upload a certificate to
  the app registration, for certificate credentials (client assertions).

Reference: https://learn.microsoft.com/en-us/graph/api/application-list
Reference: https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-memberof
Reference: https://learn.microsoft.com/en-us/graph/api/group-delete-members
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from simulator.graph import auth, entities, resources
from simulator.graph.data import digest, guid_from, iso
from simulator.graph.errors import GraphError, error_response, graph_headers, not_found
from simulator.graph.responses import collection_response, entity_response
from simulator.responses import json_response

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import App, Tenant

ADMIN_AGENTS = "AdminAgents"
_V = "/graph/<any(v1.0, beta):version>"


def _graph(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Render GraphError as Graph's error body (as the directory routes do)."""

    def endpoint(ctx: SimContext, request: Request, **values: Any) -> Response:
        try:
            return handler(ctx, request, **values)
        except GraphError as exc:
            return error_response(request, exc)

    endpoint.__name__ = handler.__name__
    return endpoint


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
    caller.require(auth.APPLICATIONS)
    return collection_response(
        ctx, request, version, _applications(ctx, caller.tenant), caller.tenant.id
    )


def application(ctx: SimContext, request: Request, *, version: str, app_id: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.APPLICATIONS)
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
    caller.require(auth.APPLICATIONS)
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
    caller.require_write(auth.GROUP_MEMBER_WRITE)
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


# --------------------------------------------------------------------------- /_sim/ controls


def _control_json(body: Any, status: int = 200) -> Response:
    return json_response(body, status)


def _region_app(ctx: SimContext, slug: str) -> App | None:
    region = ctx.world.region(slug)
    return region.app if region else None


def _app_state(app: App) -> dict[str, Any]:
    return {
        "client_id": app.client_id,
        "multi_tenant": app.multi_tenant,
        "preconsented": app.preconsented,
    }


def revoke_preconsent(ctx: SimContext, request: Request, slug: str) -> Response:
    """Take the region's app out of AdminAgents (customers' tenants then refuse it)."""
    app = _region_app(ctx, slug)
    if app is None:
        return _control_json({"error": f"Unknown region {slug}."}, 404)
    app.preconsented = False
    return _control_json(_app_state(app))


def app_settings(ctx: SimContext, request: Request, slug: str) -> Response:
    app = _region_app(ctx, slug)
    if app is None:
        return _control_json({"error": f"Unknown region {slug}."}, 404)
    if request.method == "POST":
        try:
            changes = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            return _control_json({"error": "The body must be a JSON object."}, 400)
        if not isinstance(changes, dict) or set(changes) - {"multi_tenant", "preconsented"}:
            return _control_json(
                {"error": "Send a JSON object with multi_tenant and/or preconsented."}, 400
            )
        for key, value in changes.items():
            setattr(app, key, bool(value))
    return _control_json(_app_state(app))


def app_certificates(ctx: SimContext, request: Request, slug: str) -> Response:
    """Upload a certificate to the region's app registration ("Certificates & secrets"), so
    a client may authenticate with it; GET lists the registered SHA-1 thumbprints."""
    app = _region_app(ctx, slug)
    if app is None:
        return _control_json({"error": f"Unknown region {slug}."}, 404)
    if request.method == "POST":
        try:
            pem = str(json.loads(request.get_data(as_text=True) or "{}")["certificate"])
            x509.load_pem_x509_certificate(pem.encode())
        except (ValueError, KeyError, TypeError):
            return _control_json(
                {"error": 'Send {"certificate": "-----BEGIN CERTIFICATE-----…"}.'}, 400
            )
        if _thumbprint(pem) not in {_thumbprint(c) for c in app.certificates}:
            app.certificates.append(pem)
    return _control_json({"thumbprints": [_thumbprint(c) for c in app.certificates]})


def _thumbprint(pem: str) -> str:
    cert = x509.load_pem_x509_certificate(pem.encode())
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Entra's thumbprint


def _key_credentials(app: App) -> list[dict[str, Any]]:
    credentials = []
    for pem in getattr(app, "certificates", ()):
        cert = x509.load_pem_x509_certificate(pem.encode())
        credentials.append(
            {
                "customKeyIdentifier": _thumbprint(pem),
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "startDateTime": iso(cert.not_valid_before_utc),
                "endDateTime": iso(cert.not_valid_after_utc),
            }
        )
    return credentials


def url_rules() -> list[Rule]:
    return [
        Rule(f"{_V}/applications", endpoint=_graph(applications), methods=["GET"]),
        Rule(f"{_V}/applications/<app_id>", endpoint=_graph(application), methods=["GET"]),
        Rule(
            f"{_V}/servicePrincipals/<sp_id>/memberOf",
            endpoint=_graph(service_principal_member_of),
            methods=["GET"],
        ),
        Rule(
            f"{_V}/groups/<group_id>/members/<object_id>/$ref",
            endpoint=_graph(remove_group_member),
            methods=["DELETE"],
        ),
        Rule(
            "/_sim/regions/<slug>/revoke-preconsent", endpoint=revoke_preconsent, methods=["POST"]
        ),
        Rule("/_sim/regions/<slug>/app", endpoint=app_settings, methods=["GET", "POST"]),
        Rule(
            "/_sim/regions/<slug>/app/certificates",
            endpoint=app_certificates,
            methods=["GET", "POST"],
        ),
    ]
