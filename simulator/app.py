"""The WSGI apps: URL maps for identity, control, Graph and Partner Center, plus middleware.

The middleware applies latency/jitter and random 5xx to every non-/_sim/ request and records
each one in the request log (kind from the path, tenant from the handler or the request).
"""

from __future__ import annotations

import json
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from simulator import control, partnercenter
from simulator.graph import routes as graph_routes
from simulator.identity import routes as identity_routes
from simulator.identity.errors import aadsts_error
from simulator.reqlog import WRITE_METHODS, kind_of, without_passwords
from simulator.responses import json_response
from simulator.tokens import unverified_claims

if TYPE_CHECKING:
    from simulator.context import SimContext


def build_map(*, browser: bool = False) -> Map:
    """The HTTPS map serves everything; the plain-HTTP browser map only the sign-in pages."""
    if browser:
        return Map(identity_routes.browser_url_rules(), strict_slashes=False)
    rules = [
        *control.url_rules(),
        *identity_routes.url_rules(),
        *graph_routes.url_rules(),
        *partnercenter.url_rules(),
    ]
    return Map(rules, strict_slashes=False)


def _tenant_hint(ctx: SimContext, request: Request, kind: str) -> str | None:
    """The tenant a request is probably for, before any handler ran (for per-tenant faults)."""
    if kind in ("graph", "partnercenter"):
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            tid = unverified_claims(auth[7:].strip()).get("tid")
            return str(tid) if tid else None
        return None
    segment = request.path.strip("/").split("/", 1)[0]
    tenant = ctx.world.find_tenant(segment) if segment else None
    return tenant.id if tenant else None


def _injected_error(kind: str) -> Response:
    """A random 5xx shaped like the service the request was for."""
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    if kind == "graph":
        body: dict[str, Any] = {
            "error": {
                "code": "serviceNotAvailable",
                "message": "The service is temporarily unavailable. Please retry.",
                "innerError": {
                    "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": request_id,
                    "client-request-id": request_id,
                },
            }
        }
        return json_response(body, 503, {"Retry-After": "1", "request-id": request_id})
    if kind == "partnercenter":
        body = {
            "code": 503,
            "description": "The service is temporarily unavailable. Please retry.",
            "data": [],
            "source": "PartnerCenter",
        }
        return json_response(body, 503, {"MS-RequestId": request_id})
    return aadsts_error(
        "temporarily_unavailable",
        90033,
        "A transient error has occurred. Please try again.",
        status=503,
    )


def _logged_body(request: Request) -> Any:
    """What a Partner Center write sent, for /_sim/requests: its JSON without passwords."""
    raw = request.get_data(as_text=True)  # cached: the handler read it already
    if not raw.strip():
        return None
    try:
        return without_passwords(json.loads(raw))
    except ValueError:
        return raw[:2000]


class SimApp:
    """One WSGI app over a URL map; handlers get (ctx, request, **values)."""

    def __init__(self, ctx: SimContext, url_map: Map) -> None:
        self.ctx = ctx
        self.url_map = url_map

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/graph/") and "//" in path:
            # Graph serves /v1.0//users as /v1.0/users, and the Graph SDK for Python sends
            # such paths (its base URL ends in "/"); werkzeug's map would answer a 308.
            environ["PATH_INFO"] = re.sub("/{2,}", "/", path)
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        kind = kind_of(request.path)
        ctx = self.ctx
        if kind == "control":
            # No faults for the control API; and a reset starts an empty log, so it is not
            # recorded itself.
            response = self.dispatch(request)
            if request.path.rstrip("/") != "/_sim/reset":
                self._record(request, response, kind, None)
            return response
        tenant = _tenant_hint(ctx, request, kind)
        delay = ctx.faults.delay_seconds(tenant)
        if delay > 0:
            # Sleeping in the worker thread is what a slow network looks like to a client.
            time.sleep(delay)
        if ctx.faults.should_fail(tenant):
            response = _injected_error(kind)
        else:
            response = self.dispatch(request)
        self._record(request, response, kind, tenant)
        return response

    def _record(self, request: Request, response: Response, kind: str, tenant: str | None) -> None:
        body = None
        if kind == "partnercenter" and request.method in WRITE_METHODS:
            body = _logged_body(request)
        self.ctx.log.record(
            method=request.method,
            path=request.path,
            tenant=request.environ.get("sim.tenant") or tenant,
            status=response.status_code,
            kind=kind,
            caller=request.environ.get("sim.caller"),
            body=body,
            items=request.environ.get("sim.batch_items"),
            client_request_id=request.headers.get("client-request-id") if kind == "graph" else None,
        )

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
            return endpoint(self.ctx, request, **values)
        except NotFound:
            return json_response(
                {"error": "not_found", "error_description": f"No route for {request.path}."},
                404,
            )
        except MethodNotAllowed as exc:
            return json_response(
                {"error": "method_not_allowed", "error_description": "Method not allowed."},
                405,
                {"Allow": ", ".join(exc.valid_methods or [])},
            )
        except HTTPException as exc:
            return exc.get_response(request.environ)  # type: ignore[return-value]
        except Exception:
            # Keep serving: one broken handler must not take the simulator down mid-benchmark.
            traceback.print_exc(file=sys.stderr)
            return json_response(
                {"error": "server_error", "error_description": "Simulator handler failed."},
                500,
            )


def create_apps(ctx: SimContext) -> tuple[SimApp, SimApp]:
    """(HTTPS app, plain-HTTP browser app) sharing one context."""
    return SimApp(ctx, build_map()), SimApp(ctx, build_map(browser=True))
