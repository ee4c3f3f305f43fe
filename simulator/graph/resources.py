"""Directory handlers: organization, users, groups (+ members, $ref), devices, partner-only sets.

Every handler is `handler(ctx, request, *, version, **values) -> Response`; GraphError is
turned into a Graph error body by routes.graph_endpoint.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from simulator.graph import auth, directory_roles, entities
from simulator.graph.errors import GraphError, bad_request, graph_headers, not_found
from simulator.graph.responses import collection_response, count_response, entity_response

if TYPE_CHECKING:
    from simulator.context import SimContext


def organization(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.ORGANIZATION, roles=auth.ROLES_DIRECTORY_READ)
    coll = entities.organization(entities.data_for(ctx, caller.tenant))
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def users(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.USERS, roles=auth.ROLES_DIRECTORY_READ)
    coll = entities.user_set(ctx, caller.tenant)
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def users_count(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.USERS, roles=auth.ROLES_DIRECTORY_READ)
    coll = entities.user_set(ctx, caller.tenant)
    return count_response(ctx, request, coll, version)


def me(ctx: SimContext, request: Request, *, version: str) -> Response:
    """The signed-in agent, in its own tenant (an agent is no user of its customers)."""
    caller = auth.authenticate(ctx, request)
    if caller.agent is None:
        raise bad_request(
            "/me request is only valid with delegated authentication flow.", code="BadRequest"
        )
    data = entities.data_for(ctx, caller.tenant)
    index = data.user_index(caller.agent.object_id)
    if index is None:
        raise not_found(caller.agent.object_id)
    coll = entities.user_set(ctx, caller.tenant)
    return entity_response(ctx, request, version, coll, coll.item(index))


# Least privileged User.Read; the higher ones Microsoft lists pass too.
MEMBER_OF = ("User.Read", "GroupMember.Read.All", *auth.USERS)


def me_member_of(ctx: SimContext, request: Request, *, version: str, cast: str = "") -> Response:
    """The signed-in agent's groups in its own tenant: the partner role groups it is in
    (AdminAgents, HelpdeskAgents, by the rule of `_members`) and its GDAP security groups.
    Groups the world generates for a tenant's users are left out (no agent is in them).

    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-memberof
    Delegated only; least privileged User.Read, which every sign-in token holds."""
    caller = auth.authenticate(ctx, request)
    agent = caller.agent
    if agent is None:
        raise bad_request(
            "/me request is only valid with delegated authentication flow.", code="BadRequest"
        )
    caller.require(MEMBER_OF)
    region = ctx.world.region_of_tenant(agent.tenant_id)
    gdap_ids = {g.id for g in region.groups if agent.object_id in g.members} if region else set()
    coll = _groups(ctx, caller)
    rows = []
    for i in range(coll.size):
        row = coll.item(i)
        name = row.get("displayName")
        in_role_group = (
            caller.tenant.kind == "partner"
            and bool(agent.roles)
            and (
                name == "AdminAgents"
                or (name == "HelpdeskAgents" and "Portal.Agent" in agent.roles)
            )
        )
        if row["id"] in gdap_ids or in_role_group:
            rows.append({"@odata.type": "#microsoft.graph.group", **row})
    member_of = entities.rows_collection(
        "groups" if cast else "directoryObjects",
        cast or "microsoft.graph.directoryObject",
        rows,
        extra_properties=coll.properties,
    )
    return collection_response(ctx, request, version, member_of, caller.tenant.id)


def me_member_of_groups(ctx: SimContext, request: Request, *, version: str) -> Response:
    """GET /me/memberOf/microsoft.graph.group: the agent's groups (all its memberships here
    are groups). A cast on the direct memberOf needs no ConsistencyLevel header.

    Reference: https://learn.microsoft.com/graph/aad-advanced-queries"""
    return me_member_of(ctx, request, version=version, cast="microsoft.graph.group")


def user(ctx: SimContext, request: Request, *, version: str, key: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.USERS, roles=auth.ROLES_DIRECTORY_READ)
    data = entities.data_for(ctx, caller.tenant)
    index = data.user_index(key)
    if index is None:
        raise not_found(key)
    coll = entities.user_set(ctx, caller.tenant)
    return entity_response(ctx, request, version, coll, coll.item(index))


def _groups(ctx: SimContext, caller: auth.Caller) -> entities.Collection:
    """The tenant's groups; a partner's also include its GDAP security groups.

    `$expand=members` gives each group its first EXPAND_LIMIT members, as Graph does.
    Reference: https://learn.microsoft.com/graph/query-parameters#expand
    """
    extra = entities.partner_security_groups(ctx.world, caller.tenant)
    coll = entities.groups(entities.data_for(ctx, caller.tenant), extra)
    indexes = {coll.item(i)["id"]: i for i in range(coll.size)}

    def members(row: dict[str, Any]) -> list[dict[str, Any]]:
        return _members(ctx, caller, indexes[row["id"]], row)[: entities.EXPAND_LIMIT]

    return dataclasses.replace(coll, expansions={"members": members})


def groups(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.GROUPS, roles=auth.ROLES_DIRECTORY_READ)
    return collection_response(ctx, request, version, _groups(ctx, caller), caller.tenant.id)


def groups_count(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.GROUPS, roles=auth.ROLES_DIRECTORY_READ)
    return count_response(ctx, request, _groups(ctx, caller), version)


def find_group(ctx: SimContext, caller: auth.Caller, group_id: str) -> tuple[int, dict[str, Any]]:
    coll = _groups(ctx, caller)
    rows = [coll.item(i) for i in range(coll.size)]
    for index, row in enumerate(rows):
        if row["id"] == group_id.lower():
            return index, row
    raise not_found(group_id)


def group(ctx: SimContext, request: Request, *, version: str, group_id: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.GROUPS, roles=auth.ROLES_DIRECTORY_READ)
    _, row = find_group(ctx, caller, group_id)
    return entity_response(ctx, request, version, _groups(ctx, caller), row)


def _member_user(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.user",
        **{k: row.get(k) for k in entities.USER_DEFAULT},
    }


def _members(ctx: SimContext, caller: auth.Caller, index: int, row: dict[str, Any]) -> list:
    world, tenant = ctx.world, caller.tenant
    data = entities.data_for(ctx, tenant)
    gdap_members = entities.partner_group_members(world, tenant, row["id"])
    if gdap_members is not None:
        members = [_directory_object(ctx, caller, oid) for oid in gdap_members]
    elif index < data.group_count:
        members = [_member_user(data.user(i)) for i in data.group_member_indexes(index)]
    else:
        members = []
    if tenant.kind == "partner" and gdap_members is None:
        # Partner role groups: agents with any portal role are admin agents, the plain
        # agents are also helpdesk agents; the app's SP is in AdminAgents once preconsented.
        name = row["displayName"]
        for agent in ctx.world.agents.values():
            if agent.tenant_id != tenant.id or not agent.roles:
                continue
            if name == "AdminAgents" or (
                name == "HelpdeskAgents" and "Portal.Agent" in agent.roles
            ):
                members.append(_directory_object(ctx, caller, agent.object_id))
        app = entities.partner_app(world, tenant)
        if name == "AdminAgents" and app is not None and app.preconsented:
            members.append(_member_sp(ctx, caller, app.sp_object_id))
    known = {m["id"] for m in members}
    for object_id in entities.ADDED_MEMBERS.get(world, tenant.id, row["id"]):
        if object_id not in known:
            members.append(_directory_object(ctx, caller, object_id))
    # Generated members that DELETE …/members/{id}/$ref took out.
    return [m for m in members if not world.writes.removed(tenant.id, row["id"], m["id"])]


def _member_sp(ctx: SimContext, caller: auth.Caller, object_id: str) -> dict[str, Any]:
    coll = entities.service_principals(ctx, caller.tenant)
    for i in range(coll.size):
        sp = coll.item(i)
        if sp["id"] == object_id:
            return {"@odata.type": "#microsoft.graph.servicePrincipal", **sp}
    return {"@odata.type": "#microsoft.graph.directoryObject", "id": object_id}


def _directory_object(ctx: SimContext, caller: auth.Caller, object_id: str) -> dict[str, Any]:
    data = entities.data_for(ctx, caller.tenant)
    index = data.user_index(object_id)
    if index is not None:
        return _member_user(data.user(index))
    return _member_sp(ctx, caller, object_id)


def member_ids(ctx: SimContext, caller: auth.Caller, index: int, row: dict[str, Any]) -> set[str]:
    """Object ids of the members of group `row` (at `index` of the tenant's groups)."""
    return {m["id"] for m in _members(ctx, caller, index, row)}


def group_members(ctx: SimContext, request: Request, *, version: str, group_id: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.GROUPS, roles=auth.ROLES_DIRECTORY_READ)
    index, row = find_group(ctx, caller, group_id)
    rows = _members(ctx, caller, index, row)
    coll = entities.rows_collection(
        "directoryObjects",
        "microsoft.graph.directoryObject",
        rows,
        extra_properties=entities.USER_PROPERTIES | {"appId", "servicePrincipalType"},
    )
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def add_group_member(ctx: SimContext, request: Request, *, version: str, group_id: str) -> Response:
    """POST /groups/{id}/members/$ref: 204, or 400 when the object already is a member."""
    caller = auth.authenticate(ctx, request)
    caller.require_write(auth.GROUP_MEMBER_WRITE, roles=auth.ROLES_GROUP_MEMBER_WRITE)
    index, row = find_group(ctx, caller, group_id)
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
        reference = str(body["@odata.id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise bad_request(
            'The request body must be {"@odata.id": "…/directoryObjects/{id}"}.'
        ) from exc
    object_id = reference.rstrip("/").rsplit("/", 1)[-1].lower()
    existing = {m["id"] for m in _members(ctx, caller, index, row)}
    if object_id in existing:
        raise bad_request(
            "One or more added object references already exist for the following modified "
            "properties: 'members'."
        )
    member = _directory_object(ctx, caller, object_id)
    if member["@odata.type"] == "#microsoft.graph.directoryObject":
        raise not_found(object_id)
    if ctx.world.writes.removed(caller.tenant.id, row["id"], object_id):
        # A generated member removed earlier (DELETE …/$ref) is back.
        ctx.world.writes.restore_member(caller.tenant.id, row["id"], object_id)
        return Response(status=204, headers=graph_headers(request))
    app = entities.partner_app(ctx.world, caller.tenant)
    if app is not None and object_id == app.sp_object_id and row["displayName"] == "AdminAgents":
        # The app's service principal in AdminAgents is what preconsents it in customers.
        app.preconsented = True
    else:
        entities.ADDED_MEMBERS.add(ctx.world, caller.tenant.id, row["id"], object_id)
    return Response(status=204, headers=graph_headers(request))


def devices(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.DEVICES, roles=auth.ROLES_DIRECTORY_READ)
    coll = entities.device_set(ctx, caller.tenant)
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def device(ctx: SimContext, request: Request, *, version: str, device_id: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.DEVICES, roles=auth.ROLES_DIRECTORY_READ)
    coll = entities.device_set(ctx, caller.tenant)
    for i in range(coll.size):
        row = coll.item(i)
        if row["id"] == device_id.lower():
            return entity_response(ctx, request, version, coll, row)
    raise not_found(device_id)


def contracts(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request)
    caller.require(auth.CONTRACTS)
    coll = entities.contracts(ctx, caller.tenant)
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def unknown_segment(ctx: SimContext, request: Request, *, version: str, rest: str) -> Response:
    """What Graph answers for a path it does not serve (here: one the simulator lacks)."""
    raise GraphError(
        400, "BadRequest", f"Resource not found for the segment '{rest.split('/', 1)[0]}'."
    )


# ----- a user's relationships: groups, registered devices, licences ---------------------
# Reference: https://learn.microsoft.com/graph/api/user-list-memberof
# Reference: https://learn.microsoft.com/graph/api/user-list-registereddevices
# Reference: https://learn.microsoft.com/graph/api/user-list-licensedetails


def _user_row(ctx: SimContext, caller: auth.Caller, key: str) -> dict[str, Any]:
    index = entities.data_for(ctx, caller.tenant).user_index(key)
    if index is None:
        raise not_found(key)
    return entities.user_set(ctx, caller.tenant).item(index)


def user_member_of(
    ctx: SimContext, request: Request, *, version: str, key: str, cast: str = ""
) -> Response:
    """GET /users/{id}/memberOf (and its /microsoft.graph.group cast): the groups and the
    directory roles the user is a direct member of (administrative units are not modelled);
    the cast keeps the groups. Reading another user's groups takes a user read and a group
    read permission (Directory.Read.All is both). A cast on the direct memberOf is no advanced
    query: Graph serves it without ConsistencyLevel (only a cast on transitiveMemberOf is).

    Reference: https://learn.microsoft.com/graph/aad-advanced-queries"""
    caller = auth.authenticate(ctx, request)
    caller.require(auth.USERS, roles=auth.ROLES_DIRECTORY_READ)
    caller.require(auth.GROUPS, roles=auth.ROLES_DIRECTORY_READ)
    user_id = _user_row(ctx, caller, key)["id"]
    groups = _groups(ctx, caller)
    rows = []
    for i in range(groups.size):
        row = groups.item(i)
        if user_id in member_ids(ctx, caller, i, row):
            rows.append({"@odata.type": "#microsoft.graph.group", **row})
    if not cast:
        index = entities.data_for(ctx, caller.tenant).user_index(user_id)
        if index is not None:
            rows.extend(directory_roles.member_of_rows(ctx, caller.tenant, index))
    entity_type = "microsoft.graph.group" if cast else "microsoft.graph.directoryObject"
    coll = entities.rows_collection(
        "groups" if cast else "directoryObjects",
        entity_type,
        rows,
        extra_properties=entities.GROUP_PROPERTIES
        | ({"@odata.type"} if cast else directory_roles.ROLE_PROPERTIES),
    )
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def user_member_of_groups(ctx: SimContext, request: Request, *, version: str, key: str) -> Response:
    """GET /users/{id}/memberOf/microsoft.graph.group: the groups only."""
    return user_member_of(ctx, request, version=version, key=key, cast="microsoft.graph.group")


def user_registered_devices(
    ctx: SimContext, request: Request, *, version: str, key: str
) -> Response:
    """GET /users/{id}/registeredDevices: the Entra devices the user registered (in the
    simulator: those whose Intune record names the user). A user read and a device read
    permission (Directory.Read.All is both)."""
    caller = auth.authenticate(ctx, request)
    caller.require(auth.USERS, roles=auth.ROLES_DIRECTORY_READ)
    caller.require(auth.DEVICES, roles=auth.ROLES_DIRECTORY_READ)
    user_id = _user_row(ctx, caller, key)["id"]
    data = entities.data_for(ctx, caller.tenant)
    devices = entities.device_set(ctx, caller.tenant)
    rows = [
        {"@odata.type": "#microsoft.graph.device", **devices.item(i)}
        for i in range(devices.size)
        if data.managed_device(i).get("userId") == user_id  # device i is managed device i
    ]
    coll = entities.rows_collection(
        "directoryObjects",
        "microsoft.graph.directoryObject",
        rows,
        extra_properties=entities.DEVICE_PROPERTIES | {"@odata.type"},
    )
    return collection_response(ctx, request, version, coll, caller.tenant.id)


LICENSE_DETAIL_PROPERTIES = frozenset({"id", "skuId", "skuPartNumber", "servicePlans"})


def user_license_details(ctx: SimContext, request: Request, *, version: str, key: str) -> Response:
    """GET /users/{id}/licenseDetails: the simulator's users hold no licences (their
    assignedLicenses are empty), so the list is empty, validated against the entity type."""
    caller = auth.authenticate(ctx, request)
    caller.require(auth.USERS, roles=auth.ROLES_DIRECTORY_READ)
    _user_row(ctx, caller, key)
    coll = entities.rows_collection(
        "licenseDetails",
        "microsoft.graph.licenseDetails",
        [],
        extra_properties=LICENSE_DETAIL_PROPERTIES,
    )
    return collection_response(ctx, request, version, coll, caller.tenant.id)
