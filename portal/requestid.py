"""A request id for every request: in the `X-Request-ID` response header, in every log line
written while the request runs, and on error pages, so a person can quote it and an operator
can find the log lines."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
# An id set by the proxy in front (ingress, load balancer) is kept when it looks like one, so
# its logs and ours line up; anything else (too long, odd characters) is replaced.
_TRUSTED_SHAPE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_current: ContextVar[str] = ContextVar("request_id", default="-")


# In a worker process that runs one task at a time (Celery's solo and prefork pools), the
# running task, for the threads a task starts (a sweep's thread pool): a ContextVar does not
# follow work into a ThreadPoolExecutor. Never set in a web process.
_process_task: tuple[str, str] | None = None


def request_id() -> str:
    """The id of the request being handled in this context, "-" outside one (in a worker: the
    running task's id)."""
    value = _current.get()
    if value == "-" and _process_task is not None:
        return _process_task[0]
    return value


def process_task() -> tuple[str, str] | None:
    """(task id, task name) of the task this worker process runs, if any."""
    return _process_task


def process_task_set(task: tuple[str, str] | None) -> None:
    global _process_task
    _process_task = task


def bind(value: str) -> Token[str]:
    """Make `value` the request id of this context (a Celery task binds its task id)."""
    return _current.set(value)


def unbind(token: Token[str]) -> None:
    _current.reset(token)


def _new_or_forwarded(request: HttpRequest) -> str:
    forwarded = request.headers.get(HEADER, "")
    return forwarded if _TRUSTED_SHAPE.match(forwarded) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = _new_or_forwarded(request)
        token = _current.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request.request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record (formatters print it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # Django logs 4xx answers after the middleware has returned: from their request.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or request_id()
        return True


def request_id_context(request: HttpRequest) -> dict[str, str]:
    return {"request_id": getattr(request, "request_id", "")}
