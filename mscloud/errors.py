"""The one error vocabulary for Microsoft: Graph, Partner Center and Entra ID (identity.py).

Every failure an mscloud client raises is a `MicrosoftError` with a `kind`; callers never see
`requests`, `urllib3` or MSAL exceptions. A feature explains a failure with a table from
`kind` (and, where needed, the AADSTS code) to its own sentence, not an `isinstance` ladder.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    """What went wrong, whichever Microsoft service said it."""

    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"  # the service did not accept the token (HTTP 401)
    FORBIDDEN = "forbidden"  # a valid token without the role or the relationship
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"  # 5xx, connection refused, TLS failure
    TIMEOUT = "timeout"
    TOKEN_REFUSED = "token_refused"  # noqa: S105 - Entra answered a token request with an error
    INTERACTION_REQUIRED = "interaction_required"  # only the user, at /authorize, can fix it
    NOT_CONSENTED = "not_consented"  # the app (or a scope of it) is not consented there
    UNKNOWN_TENANT = "unknown_tenant"  # the authority's tenant does not exist
    SIGNIN_MISMATCH = "signin_mismatch"  # a sign-in response that is not for our flow
    ID_TOKEN_REJECTED = "id_token_rejected"  # noqa: S105 - its nonce, audience or issuer
    # The portal refused the call itself: a redirect, plain http://, a private address.
    ENDPOINT_REFUSED = "endpoint_refused"
    ERROR = "error"  # any other answer


# Worth retrying later (task retry, "try again" in the UI).
TRANSIENT_KINDS = frozenset({ErrorKind.THROTTLED, ErrorKind.UNAVAILABLE, ErrorKind.TIMEOUT})

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\bbearer\s+\S+")
_MAX_MESSAGE = 300


def safe_text(text: object) -> str:
    """One line, bounded, with anything token-shaped removed: messages end up in logs and pages."""
    line = " ".join(str(text).split())
    line = _BEARER.sub("Bearer [redacted]", _JWT.sub("[redacted]", line))
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"


class MicrosoftError(Exception):
    """Base of every error raised by the mscloud clients."""

    service = "Microsoft"
    kind: ErrorKind = ErrorKind.ERROR

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        kind: ErrorKind | None = None,
    ) -> None:
        if kind is not None:
            self.kind = kind  # else the class's
        self.status = status
        self.code = safe_text(code)[:100] if code else None
        self.message = safe_text(message) if message else self._default_message()
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(self.message)

    @property
    def transient(self) -> bool:
        """Whether retrying later can help."""
        return self.kind in TRANSIENT_KINDS

    def _default_message(self) -> str:
        if self.status:
            return f"{self.service} answered HTTP {self.status}."
        return f"The call to {self.service} failed."

    def __str__(self) -> str:
        details = [f"HTTP {self.status}" if self.status else None, self.code]
        if self.request_id:
            details.append(f"request-id {self.request_id}")
        text = self.message
        if self.retry_after is not None:
            text += f" Try again in {math.ceil(self.retry_after)} s."
        shown = ", ".join(d for d in details if d)
        return f"{text} [{shown}]" if shown else text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep status, code, … when pickled (Celery results, multiprocessing), not just args.
        state = {
            "status": self.status,
            "code": self.code,
            "request_id": self.request_id,
            "retry_after": self.retry_after,
            "kind": self.kind,
        }
        return (_restore, (type(self), self.message, state))


def _restore(cls: type[MicrosoftError], message: str, state: dict[str, Any]) -> MicrosoftError:
    return cls(message, **state)


class GraphError(MicrosoftError):
    service = "Microsoft Graph"


class GraphBadRequest(GraphError):
    kind = ErrorKind.BAD_REQUEST


class GraphUnauthorized(GraphError):
    kind = ErrorKind.UNAUTHORIZED


class GraphForbidden(GraphError):
    kind = ErrorKind.FORBIDDEN


class GraphNotFound(GraphError):
    kind = ErrorKind.NOT_FOUND


class GraphConflict(GraphError):
    kind = ErrorKind.CONFLICT


class GraphThrottled(GraphError):
    kind = ErrorKind.THROTTLED


class GraphUnavailable(GraphError):
    kind = ErrorKind.UNAVAILABLE


class GraphTimeout(GraphError):
    kind = ErrorKind.TIMEOUT


class PartnerCenterError(MicrosoftError):
    service = "Partner Center"


class PartnerCenterBadRequest(PartnerCenterError):
    kind = ErrorKind.BAD_REQUEST


class PartnerCenterUnauthorized(PartnerCenterError):
    kind = ErrorKind.UNAUTHORIZED


class PartnerCenterForbidden(PartnerCenterError):
    kind = ErrorKind.FORBIDDEN


class PartnerCenterNotFound(PartnerCenterError):
    kind = ErrorKind.NOT_FOUND


class PartnerCenterConflict(PartnerCenterError):
    """The resource already exists, e.g. the customer's domain is taken."""

    kind = ErrorKind.CONFLICT


class PartnerCenterThrottled(PartnerCenterError):
    kind = ErrorKind.THROTTLED


class PartnerCenterUnavailable(PartnerCenterError):
    kind = ErrorKind.UNAVAILABLE


class PartnerCenterTimeout(PartnerCenterError):
    kind = ErrorKind.TIMEOUT


def _graph_body(body: Any) -> tuple[str | None, str | None, str | None]:
    # {"error": {"code", "message", "innerError": {"request-id", ...}}}
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, None
    inner = error.get("innerError") or error.get("innererror") or {}
    request_id = inner.get("request-id") if isinstance(inner, dict) else None
    message = _str_or_none(error.get("message"))
    return _str_or_none(error.get("code")), intune_message(message) or message, request_id


# -- Intune's error shape -------------------------------------------------------------------
# Intune answers through Graph with its own JSON as the error's `message`: `{"_version": 3,
# "Message": "<text> - Operation ID (for customer support): … - Activity ID: … - Url: …", …}`,
# under code Forbidden / BadRequest / InternalError, or wrapped once more under UnknownError
# (`{"ErrorCode": "Forbidden", "Message": "<that JSON>", …}`). The kind still comes from the
# HTTP status, as for the directory; only the words are Intune's.
# Reference: https://learn.microsoft.com/graph/errors
# Reference: https://github.com/AzureAD/microsoft-authentication-library-for-js/issues/7007
_INTUNE_TRAILER = re.compile(r"\s+-\s+Operation ID \(for customer support\):.*$", re.DOTALL)
_INTUNE_DEPTH = 3


def intune_message(message: str | None) -> str | None:
    """The sentence inside Intune's error JSON, without its support trailer (operation and
    activity ids, Intune's internal URL); None when `message` is not Intune's shape."""
    text = message
    found = False
    for _ in range(_INTUNE_DEPTH):
        if not text or not text.lstrip().startswith("{"):
            break
        try:
            parsed = json.loads(text)
        except ValueError:
            break
        if not isinstance(parsed, dict) or not isinstance(parsed.get("Message"), str):
            break
        intune = "_version" in parsed or "ErrorCode" in parsed
        if not intune and not _INTUNE_TRAILER.search(parsed["Message"]):
            break
        found, text = True, parsed["Message"]
    if not found or text is None:
        return None
    sentence = _INTUNE_TRAILER.sub("", text).strip()
    if not sentence:
        return "Intune refused the request."
    return sentence if sentence.endswith((".", "!", "?")) else f"{sentence}."


def _partner_center_body(body: Any) -> tuple[str | None, str | None, str | None]:
    # {"code": int|str, "description", "data": [], "source"}
    if not isinstance(body, dict):
        return None, None, None
    return _str_or_none(body.get("code")), _str_or_none(body.get("description")), None


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True)
class ErrorFamily:
    """How one service's HTTP failures map onto its exception classes."""

    base: type[MicrosoftError]
    by_status: Mapping[int, type[MicrosoftError]]
    throttled: type[MicrosoftError]
    unavailable: type[MicrosoftError]
    timeout: type[MicrosoftError]
    parse_body: Callable[[Any], tuple[str | None, str | None, str | None]]
    request_id_headers: tuple[str, ...]

    def build(
        self,
        status: int,
        body: Any,
        headers: Mapping[str, str],
        *,
        retry_after: float | None = None,
    ) -> MicrosoftError:
        code, message, request_id = self.parse_body(body)
        for name in self.request_id_headers:
            request_id = request_id or headers.get(name)
        if status in self.by_status:
            cls = self.by_status[status]
        elif status >= 500:
            cls = self.unavailable
        else:
            cls = self.base
        return cls(
            message or "",
            status=status,
            code=code,
            request_id=request_id,
            retry_after=retry_after,
        )


GRAPH_ERRORS = ErrorFamily(
    base=GraphError,
    by_status={
        400: GraphBadRequest,
        401: GraphUnauthorized,
        403: GraphForbidden,
        404: GraphNotFound,
        409: GraphConflict,
        429: GraphThrottled,
    },
    throttled=GraphThrottled,
    unavailable=GraphUnavailable,
    timeout=GraphTimeout,
    parse_body=_graph_body,
    request_id_headers=("request-id", "client-request-id"),
)

PARTNER_CENTER_ERRORS = ErrorFamily(
    base=PartnerCenterError,
    by_status={
        400: PartnerCenterBadRequest,
        401: PartnerCenterUnauthorized,
        403: PartnerCenterForbidden,
        404: PartnerCenterNotFound,
        409: PartnerCenterConflict,
        429: PartnerCenterThrottled,
    },
    throttled=PartnerCenterThrottled,
    unavailable=PartnerCenterUnavailable,
    timeout=PartnerCenterTimeout,
    parse_body=_partner_center_body,
    request_id_headers=("MS-RequestId", "MS-CorrelationId"),
)
