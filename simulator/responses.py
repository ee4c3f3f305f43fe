"""The one way the simulator answers JSON; each service passes its own content type and headers.

Microsoft's services differ in the exact Content-Type they send (Entra and Partner Center add
`; charset=utf-8`, Graph its OData parameters, the control API neither), and clients and SDKs
compare it, so callers choose it; only the serialization lives here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Response

JSON = "application/json"
JSON_UTF8 = "application/json; charset=utf-8"


def json_response(
    body: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    *,
    content_type: str = JSON,
) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type=content_type)
