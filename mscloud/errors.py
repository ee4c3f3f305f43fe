"""Typed errors for Microsoft Graph and Partner Center; callers never see `requests` exceptions."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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
    # Transient errors are worth retrying later (task retry, "try again" in the UI).
    transient = False

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = safe_text(code)[:100] if code else None
        self.message = safe_text(message) if message else self._default_message()
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(self.message)

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
        }
        return (_restore, (type(self), self.message, state))


def _restore(cls: type[MicrosoftError], message: str, state: dict[str, Any]) -> MicrosoftError:
    return cls(message, **state)


class GraphError(MicrosoftError):
    service = "Microsoft Graph"


class GraphBadRequest(GraphError):
    pass


class GraphUnauthorized(GraphError):
    pass


class GraphForbidden(GraphError):
    pass


class GraphNotFound(GraphError):
    pass


class GraphConflict(GraphError):
    pass


class GraphThrottled(GraphError):
    transient = True


class GraphUnavailable(GraphError):
    transient = True


class GraphTimeout(GraphError):
    transient = True


class PartnerCenterError(MicrosoftError):
    service = "Partner Center"


class PartnerCenterBadRequest(PartnerCenterError):
    pass


class PartnerCenterUnauthorized(PartnerCenterError):
    pass


class PartnerCenterForbidden(PartnerCenterError):
    pass


class PartnerCenterNotFound(PartnerCenterError):
    pass


class PartnerCenterConflict(PartnerCenterError):
    """The resource already exists, e.g. the customer's domain is taken."""


class PartnerCenterThrottled(PartnerCenterError):
    transient = True


class PartnerCenterUnavailable(PartnerCenterError):
    transient = True


class PartnerCenterTimeout(PartnerCenterError):
    transient = True


def _graph_body(body: Any) -> tuple[str | None, str | None, str | None]:
    # {"error": {"code", "message", "innerError": {"request-id", ...}}}
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, None
    inner = error.get("innerError") or error.get("innererror") or {}
    request_id = inner.get("request-id") if isinstance(inner, dict) else None
    return _str_or_none(error.get("code")), _str_or_none(error.get("message")), request_id


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
