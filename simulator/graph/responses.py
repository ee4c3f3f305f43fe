"""Collection and entity responses: @odata.context, @odata.count, @odata.nextLink, value."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from simulator.graph.errors import GraphError, ODataError, graph_json
from simulator.graph.odata import (
    COUNT_SEGMENT_UNSUPPORTED,
    Collection,
    QueryOptions,
    canonical_args,
    check_expand,
    count_only,
    decode_skiptoken,
    encode_skiptoken,
    parse_options,
    project,
    run_query,
)

if TYPE_CHECKING:
    from simulator.context import SimContext


def is_eventual(request: Request) -> bool:
    return request.headers.get("ConsistencyLevel", "").strip().lower() == "eventual"


def relative_path(request: Request, version: str) -> str:
    """The path after /graph/{version}, e.g. /users or /deviceManagement/managedDevices."""
    prefix = f"/graph/{version}"
    path = request.path
    return path[len(prefix) :] if path.startswith(prefix) else path


def metadata_url(ctx: SimContext, version: str, fragment: str) -> str:
    return f"{ctx.endpoints.graph}/{version}/$metadata#{fragment}"


def _context(ctx: SimContext, version: str, coll: Collection, select: list[str] | None) -> str:
    fragment = coll.entity_set + (f"({','.join(select)})" if select else "")
    return metadata_url(ctx, version, fragment)


def _skiptoken_key(ctx: SimContext) -> bytes:
    # Stable for a seed, so links stay valid across a restart with the same world.
    return hashlib.sha256(f"graph-skiptoken/{ctx.world.seed}".encode()).digest()


def _next_link(ctx: SimContext, request: Request, version: str, token: str) -> str:
    """All original query parameters (as sent) plus the new $skiptoken."""
    safe = "$'(),:@/!*"
    pairs = [
        f"{quote(key, safe=safe)}={quote(value, safe=safe)}"
        for key, value in request.args.items(multi=True)
        if key != "$skiptoken"
    ]
    pairs.append(f"$skiptoken={token}")
    return f"{ctx.endpoints.graph}/{version}{relative_path(request, version)}?{'&'.join(pairs)}"


def odata_error(exc: ODataError) -> GraphError:
    return GraphError(exc.status, exc.code, exc.message)


def collection_response(
    ctx: SimContext, request: Request, version: str, coll: Collection, tenant_id: str
) -> Response:
    try:
        opts = parse_options(request.args, version)
        scope = f"{tenant_id}|{relative_path(request, version)}"
        key = _skiptoken_key(ctx)
        position = decode_skiptoken(key, scope, opts.skiptoken) if opts.skiptoken else 0
        page = run_query(coll, opts, eventual=is_eventual(request), position=position)
    except ODataError as exc:
        raise odata_error(exc) from exc
    body: dict[str, Any] = {"@odata.context": _context(ctx, version, coll, opts.select)}
    if page.count is not None:
        body["@odata.count"] = page.count
    if page.next_position is not None:
        token = encode_skiptoken(key, scope, page.next_position)
        body["@odata.nextLink"] = _next_link(ctx, request, version, token)
    body["value"] = page.items
    return graph_json(request, body)


def count_response(ctx: SimContext, request: Request, coll: Collection, version: str) -> Response:
    """`/collection/$count`: a plain-text number; directory counts need ConsistencyLevel."""
    if coll.directory and not is_eventual(request):
        raise GraphError(400, "Request_BadRequest", COUNT_SEGMENT_UNSUPPORTED)
    try:
        total = count_only(coll, parse_options(request.args, version))
    except ODataError as exc:
        raise odata_error(exc) from exc
    response = graph_json(request, total)
    response.content_type = "text/plain;charset=utf-8"
    return response


def entity_response(
    ctx: SimContext, request: Request, version: str, coll: Collection, item: dict[str, Any]
) -> Response:
    select = None
    args = canonical_args(request.args, version)
    if args.get("$select"):
        select = [p.strip() for p in args["$select"].split(",") if p.strip()]
        for name in select:
            if name not in coll.properties:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Could not find a property named '{name}' on type '{coll.entity_type}'.",
                )
    expand = [p.strip() for p in args.get("$expand", "").split(",") if p.strip()]
    try:
        check_expand(coll, QueryOptions(expand=expand))
    except ODataError as exc:
        raise odata_error(exc) from exc
    fragment = coll.entity_set + (f"({','.join(select)})" if select else "") + "/$entity"
    projected = project(coll, item, select, expand)
    body = {"@odata.context": metadata_url(ctx, version, fragment), **projected}
    return graph_json(request, body)


def object_response(
    ctx: SimContext, request: Request, version: str, fragment: str, body: dict[str, Any]
) -> Response:
    return graph_json(request, {"@odata.context": metadata_url(ctx, version, fragment), **body})
