"""GDAP in the partner tenant: delegatedAdminRelationships (+ one, + accessAssignments) and
delegatedAdminCustomers, all behind DelegatedAdminRelationship.Read.All.

Reference: https://learn.microsoft.com/graph/api/tenantrelationship-list-delegatedadminrelationships
Reference: https://learn.microsoft.com/graph/api/delegatedadminrelationship-get
Reference: https://learn.microsoft.com/graph/api/delegatedadminrelationship-list-accessassignments
Reference: https://learn.microsoft.com/graph/api/tenantrelationship-list-delegatedadmincustomers
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from simulator import gdap
from simulator.graph import auth
from simulator.graph.data import iso
from simulator.graph.entities import rows_collection
from simulator.graph.errors import GraphError, ODataError, bad_request, graph_json, not_found
from simulator.graph.filters import parse_filter
from simulator.graph.odata import Collection
from simulator.graph.responses import collection_response, entity_response

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import Tenant

Item = dict[str, Any]
RELATIONSHIPS_SET = "tenantRelationships/delegatedAdminRelationships"
# $filter clauses served on relationships: `eq` (with and/or) on these paths. Graph documents
# $filter support without listing the properties; these are the ones the portal needs.
RELATIONSHIP_PROPERTIES = frozenset(
    (
        "id",
        "displayName",
        "duration",
        "customer",
        "accessDetails",
        "status",
        "autoExtendDuration",
        "createdDateTime",
        "activatedDateTime",
        "lastModifiedDateTime",
        "endDateTime",
    )
)
FILTERABLE = {("status",), ("customer", "tenantId"), ("id",), ("displayName",)}


def _gdap_customers(ctx: SimContext, tenant: Tenant) -> list[Tenant]:
    """Customers with a GDAP relationship to this partner (a DAP-only customer has none)."""
    if tenant.kind != "partner":
        return []
    return [c for c in ctx.world.customers_of(tenant.id) if c.relationships]


def _status(customer: Tenant, rel: gdap.GdapRelationship, now: float) -> str:
    if rel.status == "active" and (customer.propagated_at is None or customer.propagated_at > now):
        return "activating"  # approved but not yet effective in the customer tenant
    return rel.status


def _relationship_item(customer: Tenant, rel: gdap.GdapRelationship, now: float) -> Item:
    status = _status(customer, rel, now)
    return {
        "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
        "@odata.etag": gdap.etag(rel.id, status, rel.end.isoformat(), *rel.roles),
        "id": rel.id,
        "displayName": rel.display_name,
        "duration": rel.duration,
        "customer": {"tenantId": customer.id, "displayName": customer.name},
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in rel.roles]},
        "status": status,
        "autoExtendDuration": rel.auto_extend,
        "createdDateTime": iso(rel.created),
        "activatedDateTime": iso(rel.activated) if rel.activated else None,
        "lastModifiedDateTime": iso(rel.last_modified or rel.created),
        "endDateTime": iso(rel.end),
    }


def _check_filter(request: Request) -> None:
    raw = request.args.get("$filter")
    if not raw:
        return
    try:
        node = parse_filter(raw)
    except ODataError as exc:
        raise GraphError(400, "BadRequest", exc.message) from exc

    def walk(n: tuple) -> bool:
        if n[0] in ("and", "or"):
            return walk(n[1]) and walk(n[2])
        return n[0] == "cmp" and n[1] == "eq" and tuple(n[2]) in FILTERABLE

    if not walk(node):
        # Exact wording unconfirmed; Graph answers 400 for a clause the API does not serve.
        raise GraphError(400, "BadRequest", f"Invalid filter clause: '{raw}' is not supported.")


def relationships_collection(ctx: SimContext, tenant: Tenant) -> Collection:
    now = ctx.now()
    rows = [
        _relationship_item(customer, rel, now)
        for customer in _gdap_customers(ctx, tenant)
        for rel in customer.relationships
    ]
    return rows_collection(
        RELATIONSHIPS_SET,
        "microsoft.graph.delegatedAdminRelationship",
        rows,
        extra_properties=RELATIONSHIP_PROPERTIES,
        max_top=300,
        directory=False,
    )


def _find(ctx: SimContext, tenant: Tenant, rel_id: str) -> tuple[Tenant, gdap.GdapRelationship]:
    """The partner's relationship `rel_id` and its customer; Graph's 404 otherwise. From an
    index checked against the customer's relationships on every use and rebuilt on a miss:
    a scan of every customer per call cost a 10,000-customer sync's access-assignment reads
    most of the simulator's CPU (each GDAP change replaces a customer's relationships)."""
    wanted = rel_id.lower()
    found = _indexed(ctx, tenant, wanted)
    if found is None:
        ctx.world.relationship_index = {
            (tenant.id, rel.id): customer
            for customer in _gdap_customers(ctx, tenant)
            for rel in customer.relationships
        }
        found = _indexed(ctx, tenant, wanted)
    if found is None:
        raise not_found(rel_id)
    return found


def _indexed(
    ctx: SimContext, tenant: Tenant, rel_id: str
) -> tuple[Tenant, gdap.GdapRelationship] | None:
    customer = ctx.world.relationship_index.get((tenant.id, rel_id))
    if customer is None or tenant.kind != "partner" or customer.partner_tenant_id != tenant.id:
        return None
    rel = next((r for r in customer.relationships if r.id == rel_id), None)
    return (customer, rel) if rel is not None else None


def list_relationships(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.RELATIONSHIPS)
    _check_filter(request)
    coll = relationships_collection(ctx, caller.tenant)
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def get_relationship(ctx: SimContext, request: Request, *, version: str, rel_id: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.RELATIONSHIPS)
    customer, rel = _find(ctx, caller.tenant, rel_id)
    coll = relationships_collection(ctx, caller.tenant)
    return entity_response(
        ctx, request, version, coll, _relationship_item(customer, rel, ctx.now())
    )


def _assignment_item(rel: gdap.GdapRelationship, a: gdap.AccessAssignment) -> Item:
    return {
        "@odata.type": "#microsoft.graph.delegatedAdminAccessAssignment",
        "@odata.etag": gdap.etag(a.id, a.status, *a.roles),
        "id": a.id,
        "status": a.status,
        "createdDateTime": iso(a.created),
        "lastModifiedDateTime": iso(rel.last_modified or a.created),
        "accessContainer": {
            "accessContainerId": a.group_id,
            "accessContainerType": "securityGroup",
        },
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in a.roles]},
    }


def list_access_assignments(
    ctx: SimContext, request: Request, *, version: str, rel_id: str
) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.RELATIONSHIPS)
    _, rel = _find(ctx, caller.tenant, rel_id)
    now = ctx.now()
    for a in rel.assignments:
        a.live(now)  # a pending one that has propagated shows as active
    rows = [_assignment_item(rel, a) for a in rel.assignments]
    coll = rows_collection(
        f"{RELATIONSHIPS_SET}('{rel.id}')/accessAssignments",
        "microsoft.graph.delegatedAdminAccessAssignment",
        rows,
        extra_properties=frozenset({"id", "status", "accessContainer", "accessDetails"}),
        max_top=300,
        directory=False,
    )
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def list_customers(ctx: SimContext, request: Request, *, version: str) -> Response:
    """Customers with a live (not expired) GDAP relationship; DAP-only customers are absent."""
    caller = auth.authenticate(ctx, request)
    caller.require(auth.RELATIONSHIPS)
    rows = [
        {"id": c.id, "tenantId": c.id, "displayName": c.name}
        for c in _gdap_customers(ctx, caller.tenant)
        if c.relationship_status == "active"
    ]
    coll = rows_collection(
        "tenantRelationships/delegatedAdminCustomers",
        "microsoft.graph.delegatedAdminCustomer",
        rows,
        extra_properties=frozenset({"id", "tenantId", "displayName"}),
        max_top=300,
        directory=False,
    )
    return collection_response(ctx, request, version, coll, caller.tenant.id)


RELATIONSHIPS_WRITE = ("DelegatedAdminRelationship.ReadWrite.All",)


def create_access_assignment(
    ctx: SimContext, request: Request, *, version: str, rel_id: str
) -> Response:
    """POST …/{id}/accessAssignments: give a partner security group some of the
    relationship's roles. 201 with status "pending"; it becomes active (the group's members
    get the roles) once it has propagated, like a relationship.

    # Reference: https://learn.microsoft.com/graph/api/delegatedadminrelationship-post-accessassignments
    Delegated or application DelegatedAdminRelationship.ReadWrite.All (Read.All is not enough);
    only on an active relationship; roles must be a subset of the relationship's; one
    assignment per group and relationship."""
    caller = auth.authenticate(ctx, request)
    caller.require(RELATIONSHIPS_WRITE)
    customer, rel = _find(ctx, caller.tenant, rel_id)
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
        container = body["accessContainer"]
        group_id = str(container["accessContainerId"]).lower()
        kind = container.get("accessContainerType", "securityGroup")
        roles = [str(r["roleDefinitionId"]).lower() for r in body["accessDetails"]["unifiedRoles"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise bad_request(
            "The request body needs accessContainer.accessContainerId and "
            "accessDetails.unifiedRoles[].roleDefinitionId.",
            code="badRequest",
        ) from exc
    if kind != "securityGroup":
        raise bad_request(f"Unsupported accessContainerType '{kind}'.", code="badRequest")
    if _status(customer, rel, ctx.now()) != "active":
        raise bad_request(
            "Access assignments can only be created on an active relationship.",
            code="badRequest",
        )
    region = ctx.world.region_of_tenant(caller.tenant.id)
    if region is None or group_id not in {g.id for g in region.groups}:
        raise bad_request(
            f"The access container '{group_id}' is not a security group of the partner tenant.",
            code="badRequest",
        )
    if not roles or any(r not in rel.roles for r in roles):
        raise bad_request(
            "The unified roles of an access assignment must be a subset of the roles of its "
            "relationship.",
            code="badRequest",
        )
    if any(a.group_id == group_id and a.status != "deleted" for a in rel.assignments):
        raise GraphError(
            409,
            "conflict",
            "An access assignment for this access container already exists on the relationship.",
        )
    now = ctx.now()
    gdap.assign(
        rel,
        next(g for g in region.groups if g.id == group_id),
        roles,
        ctx.world.seed,
        status="pending",
        active_at=now + ctx.world.propagation_delay_for(customer.id),
        created=datetime.fromtimestamp(now, UTC),
    )
    item = _assignment_item(rel, rel.assignments[-1])
    return graph_json(request, {"@odata.context": _context(version, rel.id), **item}, 201)


def _context(version: str, rel_id: str) -> str:
    return (
        f"https://graph.microsoft.com/{version}/$metadata#{RELATIONSHIPS_SET}('{rel_id}')"
        "/accessAssignments/$entity"
    )


ROUTES = (
    ("/tenantRelationships/delegatedAdminCustomers", list_customers, ("GET",)),
    ("/tenantRelationships/delegatedAdminRelationships", list_relationships, ("GET",)),
    ("/tenantRelationships/delegatedAdminRelationships/<rel_id>", get_relationship, ("GET",)),
    (
        "/tenantRelationships/delegatedAdminRelationships/<rel_id>/accessAssignments",
        list_access_assignments,
        ("GET",),
    ),
    (
        "/tenantRelationships/delegatedAdminRelationships/<rel_id>/accessAssignments",
        create_access_assignment,
        ("POST",),
    ),
)
