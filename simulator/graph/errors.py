"""Graph error bodies and the response headers every Graph answer carries.

Reference: https://learn.microsoft.com/graph/errors
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from simulator.responses import json_response

JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"  # noqa: E501


class GraphError(Exception):
    """Raised by handlers; the route wrapper renders it as a Graph error response."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def request_ids(request: Request) -> tuple[str, str]:
    """(request-id, client-request-id): Graph echoes the client's id or reuses its own."""
    ids = request.environ.get("sim.graph_ids")
    if ids is None:
        request_id = str(uuid.uuid4())
        ids = (request_id, request.headers.get("client-request-id") or request_id)
        request.environ["sim.graph_ids"] = ids
    return ids


# Which Graph front end answered; Graph sends it on every response, errors included.
AGS_DIAGNOSTIC = json.dumps(
    {
        "ServerInfo": {
            "DataCenter": "West Europe",
            "Slice": "E",
            "Ring": "5",
            "ScaleUnit": "003",
            "RoleInstance": "AM2PEPF0001B4C2",
        }
    },
    separators=(",", ":"),
)


def graph_headers(request: Request) -> dict[str, str]:
    """Headers of every Graph answer: the request ids, OData's version, the front end that
    served it (x-ms-ags-diagnostic) and HSTS, as graph.microsoft.com sends them.

    Reference: https://learn.microsoft.com/graph/errors (request-id, client-request-id)
    """
    request_id, client_request_id = request_ids(request)
    return {
        "request-id": request_id,
        "client-request-id": client_request_id,
        "OData-Version": "4.0",
        "Cache-Control": "no-cache",
        "x-ms-ags-diagnostic": AGS_DIAGNOSTIC,
        "Strict-Transport-Security": "max-age=31536000",
    }


def graph_json(
    request: Request, body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Graph's JSON: its OData content type and the headers every Graph answer carries."""
    return json_response(
        body, status, {**graph_headers(request), **(headers or {})}, content_type=JSON_TYPE
    )


def graph_json_text(request: Request, text: str, status: int = 200) -> Response:
    """graph_json for a body already serialized (a kept page, simulator.graph.pagecache)."""
    return Response(text, status=status, headers=graph_headers(request), content_type=JSON_TYPE)


def error_body(request: Request, code: str, message: str) -> dict[str, Any]:
    request_id, client_request_id = request_ids(request)
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }


def error_response(request: Request, error: GraphError) -> Response:
    return graph_json(
        request, error_body(request, error.code, error.message), error.status, error.headers
    )


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def not_found(what: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{what}' does not exist or one of its queried reference-property objects "
        "are not present.",
    )


def forbidden() -> GraphError:
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


# Intune's front end (FEF) behind Graph: the URL its own errors quote, per request path.
_INTUNE_FEF = "https://fef.msua06.manage.microsoft.com/DeviceFE/StatelessDeviceFEService"
_INTUNE_API_VERSION = "2024-06-14"


def intune_url(path: str, key: str | None = None) -> str:
    """The URL Intune names in its errors: the Graph path, an entity key as `('<id>')`."""
    tail = f"{path}%28%27{key}%27%29" if key else path
    return f"{_INTUNE_FEF}/{tail}?api-version={_INTUNE_API_VERSION}"


def intune_message(text: str, *, url: str) -> str:
    """Intune's own JSON (`_version: 3`) that Graph carries as the error's message.

    Reference: https://github.com/microsoftgraph/powershell-intune-samples/issues/45 (BadRequest)
    Reference: https://github.com/microsoftgraph/microsoft-graph-docs/issues/9787 (InternalError)
    """
    trailer = (
        "Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - "
        f"Activity ID: {uuid.uuid4()} - Url: {url}"
    )
    return json.dumps(
        {
            "_version": 3,
            "Message": f"{text} - {trailer}",
            "CustomApiErrorPhrase": "",
            "RetryAfter": None,
            "ErrorSourceService": "",
            "HttpHeaders": "{}",
        },
        indent=2,
    ).replace("\n", "\r\n")


def intune_forbidden(
    scopes: tuple[str, ...], *, app: bool, url: str = intune_url("deviceManagement/managedDevices")
) -> GraphError:
    """Intune's 403, not the directory's: its own JSON (`_version: 3`) inside the message.

    A token without the permission: code Forbidden, "Application is not authorized ...". A
    user without the Intune role: code UnknownError, Intune's Forbidden wrapped once more.
    Reference: https://github.com/mondoohq/cnspec/issues/1708 (the app case, 2025)
    Reference: https://github.com/AzureAD/microsoft-authentication-library-for-js/issues/7007
    """
    if app:
        text = (
            "Application is not authorized to perform this operation. Application must have "
            f"one of the following scopes: {', '.join(scopes)}"
        )
        return GraphError(403, "Forbidden", intune_message(text, url=url))
    wrapped = json.dumps(
        {
            "ErrorCode": "Forbidden",
            "Message": intune_message("An error has occurred", url=url),
            "Target": None,
            "Details": None,
            "InnerError": None,
            "InstanceAnnotations": [],
        },
        separators=(",", ":"),
    )
    return GraphError(403, "UnknownError", wrapped)


def intune_not_found(url: str) -> GraphError:
    """Intune's 404 for a managed device it does not hold: its JSON, not the directory's
    `Request_ResourceNotFound` sentence. The shape follows the captures cited in
    `intune_message`; `ResourceNotFound` is the code Graph answers a 404 under
    /deviceManagement with (jseerden/IntuneBackupAndRestore#82, 2025); which code Intune
    sends for a missing device in particular is unconfirmed.
    Reference: https://learn.microsoft.com/graph/errors
    """
    return GraphError(404, "ResourceNotFound", intune_message("An error has occurred", url=url))


def throttled(retry_after: float) -> GraphError:
    seconds = str(max(1, math.ceil(retry_after)))
    return GraphError(
        429,
        "TooManyRequests",
        "Too many requests were sent for this application and tenant. Retry after "
        f"{seconds} seconds.",
        {"Retry-After": seconds},
    )


class ODataError(Exception):
    """A query Graph would refuse; rendered as a Graph error body with this code and status."""

    def __init__(self, message: str, code: str = "Request_BadRequest", status: int = 400) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status
