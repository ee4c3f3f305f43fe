"""Collection and entity responses: @odata.context, @odata.count, @odata.nextLink, value."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from simulator.graph.errors import GraphError, ODataError, graph_json, graph_json_text
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
from simulator.graph.pagecache import PAGES, CachedPage

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
        eventual = is_eventual(request)
        cache_key = _page_key(request, version, coll, eventual, position)
        cached = PAGES.get(cache_key) if cache_key is not None else None
        if cached is None:
            page = run_query(coll, opts, eventual=eventual, position=position)
            cached = CachedPage(json.dumps(page.items), page.next_position, page.count)
            if cache_key is not None:
                PAGES.put(cache_key, cached)
    except ODataError as exc:
        raise odata_error(exc) from exc
    head: dict[str, Any] = {"@odata.context": _context(ctx, version, coll, opts.select)}
    if cached.count is not None:
        head["@odata.count"] = cached.count
    if cached.next_position is not None:
        token = encode_skiptoken(key, scope, cached.next_position)
        head["@odata.nextLink"] = _next_link(ctx, request, version, token)
    # The head is never empty (@odata.context): its closing brace gives way to "value".
    return graph_json_text(request, f'{json.dumps(head)[:-1]}, "value": {cached.value_json}}}')


def _page_key(
    request: Request, version: str, coll: Collection, eventual: bool, position: int
) -> tuple[Any, ...] | None:
    """What one page of a cacheable collection depends on: the collection's key, the query
    (every argument but the skiptoken, which `position` stands for) and the headers read."""
    if not coll.pages_cacheable or coll.cache_key is None:
        return None
    args = tuple(sorted((k, v) for k, v in request.args.items(multi=True) if k != "$skiptoken"))
    return (*coll.cache_key, coll.size, coll.entity_set, version, args, eventual, position)


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
