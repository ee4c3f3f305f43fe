"""JSON batching: POST /{version}/$batch with up to 20 requests, dependsOn and 424.

Reference: https://learn.microsoft.com/graph/json-batching
The batch is one HTTP request (one log entry, counted once); each inner request is
authenticated and throttled on its own, so a 429 shows up inside a 200 batch response. The
entry lists the inner requests under "items" (method, path, status, when it ran), so a test can
tell which writes reached the world through a batch.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from simulator.graph import auth
from simulator.graph.errors import GraphError, error_body, graph_json

if TYPE_CHECKING:
    from simulator.context import SimContext

MAX_REQUESTS = 20
# Headers of the batch request that every inner request inherits.
INHERITED = ("Authorization", "client-request-id")


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _parse(request: Request) -> list[dict[str, Any]]:
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError as exc:
        raise _bad("Invalid batch payload format.") from exc
    items = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise _bad("Invalid batch payload format: 'requests' must be a non-empty array.")
    if len(items) > MAX_REQUESTS:
        raise _bad(f"The number of batch requests must be at most {MAX_REQUESTS}.")
    seen: set[str] = set()
    folded: set[str] = set()  # Graph compares request ids without regard to case
    for item in items:
        if not isinstance(item, dict):
            raise _bad("Invalid batch payload format: each request must be an object.")
        for key in ("id", "method", "url"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise _bad(f"Invalid batch payload format: a request has no '{key}'.")
        if item["id"].casefold() in folded:
            raise _bad(f"Request Id '{item['id']}' is duplicated in the batch.")
        seen.add(item["id"])
        folded.add(item["id"].casefold())
    for item in items:
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or any(d not in seen for d in depends):
            raise _bad(f"Request '{item['id']}' depends on a request that is not in the batch.")
    return items


def _order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dependencies first; a cycle is a bad request."""
    by_id = {item["id"]: item for item in items}
    done: list[dict[str, Any]] = []
    state: dict[str, str] = {}

    def visit(item_id: str) -> None:
        if state.get(item_id) == "done":
            return
        if state.get(item_id) == "visiting":
            raise _bad("The dependsOn of the batch requests form a cycle.")
        state[item_id] = "visiting"
        for dep in by_id[item_id].get("dependsOn") or []:
            visit(dep)
        state[item_id] = "done"
        done.append(by_id[item_id])

    for item in items:
        visit(item["id"])
    return done


def _inner_request(outer: Request, version: str, item: dict[str, Any]) -> Request:
    url = item["url"].strip()
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        raise _bad(f"Request '{item['id']}': the url must be relative, e.g. /users.")
    path = parts.path if parts.path.startswith("/") else f"/{parts.path}"
    headers = {name: outer.headers[name] for name in INHERITED if name in outer.headers}
    headers.update({str(k): str(v) for k, v in (item.get("headers") or {}).items()})
    body = item.get("body")
    data = None
    if body is not None:
        data = body if isinstance(body, str) else json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    builder = EnvironBuilder(
        path=f"/graph/{version}{path}",
        base_url=outer.host_url,
        query_string=parts.query,
        method=item["method"].upper(),
        headers=headers,
        data=data,
    )
    return Request(builder.get_environ())


def _run_one(
    ctx: SimContext, outer: Request, version: str, item: dict[str, Any], resources: Map
) -> tuple[int, dict[str, str], Any]:
    try:
        inner = _inner_request(outer, version, item)
    except GraphError as exc:
        return (
            exc.status,
            {"Content-Type": "application/json"},
            error_body(outer, exc.code, exc.message),
        )
    adapter = resources.bind_to_environ(inner.environ)
    try:
        endpoint, values = adapter.match()
    except (NotFound, MethodNotAllowed):
        error = GraphError(
            400,
            "BadRequest",
            f"Resource not found for the segment '{inner.path.rsplit('/', 1)[-1]}'.",
        )
        return (
            400,
            {"Content-Type": "application/json"},
            error_body(inner, error.code, error.message),
        )
    response: Response = endpoint(ctx, inner, **values)
    headers = {"Content-Type": response.content_type or "application/json"}
    if "Retry-After" in response.headers:
        headers["Retry-After"] = response.headers["Retry-After"]
    raw = response.get_data(as_text=True)
    if not raw:
        return response.status_code, headers, None
    try:
        return response.status_code, headers, json.loads(raw)
    except ValueError:
        return response.status_code, headers, raw


def batch(ctx: SimContext, request: Request, *, version: str, resources: Map) -> Response:
    """`resources` routes the inner requests: the Graph resource rules, without $batch."""
    # The envelope needs a valid token (401 for the whole batch otherwise) but is not
    # throttled itself: each inner request counts against the limit.
    auth.authenticate(ctx, request, throttle=False)
    parsed = _parse(request)
    results: dict[str, dict[str, Any]] = {}
    logged: list[dict[str, Any]] = []
    for item in _order(parsed):
        failed = [d for d in item.get("dependsOn") or [] if results[d]["status"] >= 400]
        if failed:
            body = error_body(
                request,
                "FailedDependency",
                f"The request depends on request '{failed[0]}', which failed.",
            )
            status, headers, payload = 424, {"Content-Type": "application/json"}, body
        else:
            status, headers, payload = _run_one(ctx, request, version, item, resources)
        result: dict[str, Any] = {"id": item["id"], "status": status, "headers": headers}
        if payload is not None:
            result["body"] = payload
        results[item["id"]] = result
        logged.append(
            {
                "id": item["id"],
                "method": item["method"].upper(),
                "path": urlsplit(item["url"].strip()).path,
                "status": status,
                "at": time.time(),
            }
        )
    request.environ["sim.batch_items"] = logged
    # Answer in the order the client sent (Graph may use any order; this is the friendliest).
    return graph_json(request, {"responses": [results[item["id"]] for item in parsed]})
