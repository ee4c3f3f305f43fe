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


def intune_forbidden(scopes: tuple[str, ...], *, app: bool) -> GraphError:
    """Intune's 403, not the directory's: its own JSON (`_version: 3`) inside the message.

    A token without the permission: code Forbidden, "Application is not authorized ...". A
    user without the Intune role: code UnknownError, Intune's Forbidden wrapped once more.
    Reference: https://github.com/mondoohq/cnspec/issues/1708 (the app case, 2025)
    Reference: https://github.com/AzureAD/microsoft-authentication-library-for-js/issues/7007
    """
    activity = str(uuid.uuid4())
    url = (
        "https://fef.msua06.manage.microsoft.com/DeviceFE/StatelessDeviceFEService/"
        "deviceManagement/managedDevices?api-version=2024-06-14"
    )
    trailer = (
        "Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - "
        f"Activity ID: {activity} - Url: {url}"
    )
    if app:
        text = (
            "Application is not authorized to perform this operation. Application must have "
            f"one of the following scopes: {', '.join(scopes)} - {trailer}"
        )
    else:
        text = f"An error has occurred - {trailer}"
    inner = json.dumps(
        {
            "_version": 3,
            "Message": text,
            "CustomApiErrorPhrase": "",
            "RetryAfter": None,
            "ErrorSourceService": "",
            "HttpHeaders": "{}",
        },
        indent=2,
    ).replace("\n", "\r\n")
    if app:
        return GraphError(403, "Forbidden", inner)
    wrapped = json.dumps(
        {
            "ErrorCode": "Forbidden",
            "Message": inner,
            "Target": None,
            "Details": None,
            "InnerError": None,
            "InstanceAnnotations": [],
        },
        separators=(",", ":"),
    )
    return GraphError(403, "UnknownError", wrapped)


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
