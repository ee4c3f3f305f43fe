"""A logging filter that masks anything token-shaped before it reaches a handler."""

import datetime
import json
import logging
import re
from typing import Any

# JWTs, OAuth codes/refresh tokens passed as parameters, and bearer headers.
_PATTERNS = [
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    re.compile(
        r"(?i)((?:code|refresh_token|access_token|id_token|client_secret|password|"
        r"code_verifier|client_assertion)=)[^&\s\"']+"
    ),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
]


def redact(text: str) -> str:
    """Mask token-like substrings in text."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class QuerylessRequestLineFilter(logging.Filter):
    """runserver's access lines (`django.server`) with the path only: a query string carries
    authorization codes (/auth/callback/?code=…), skiptokens and search terms."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            record.args = (_without_query(record.args[0]), *record.args[1:])
        return True


def _without_query(request_line: str) -> str:
    # "GET /auth/callback/?code=… HTTP/1.1" -> "GET /auth/callback/ HTTP/1.1"
    parts = request_line.split(" ")
    if len(parts) >= 2:
        parts[1] = parts[1].split("?", 1)[0]
    return " ".join(parts)


# LogRecord attributes every record has: anything else on a record came from `extra=` (or a
# filter) and goes into the JSON object as a field of its own.
_STANDARD_ATTRS = frozenset(
    set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
    | {"message", "asctime", "request", "server_time", "color_message", "taskName"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (ISO 8601, UTC), level, logger, message,
    request_id, then the record's extra fields. The message is the redacted one (the
    RedactSecretsFilter runs before any formatter); extra values and exception text are
    redacted here too, as they never pass through that filter."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
        entry: dict[str, Any] = {
            "timestamp": stamp.isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRS or key in entry or key.startswith("_"):
                continue
            entry[key] = _json_value(value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def _json_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    try:
        return json.loads(redact(json.dumps(value, default=str)))
    except (TypeError, ValueError):
        return redact(str(value))


class CeleryTaskFilter(logging.Filter):
    """In a worker, the running task's id and name on every record (task_id, task_name)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "task_id"):
            task = _current_task()
            if task is not None and getattr(task.request, "id", None):
                record.task_id = task.request.id
                record.task_name = task.name
            else:
                from portal.requestid import process_task

                running = process_task()  # from a thread the task started
                if running is not None:
                    record.task_id, record.task_name = running
        return True


def _current_task() -> Any:
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a runtime requirement
        return None
    return current_task if current_task else None


class GunicornAccessRequestIdFilter(logging.Filter):
    """gunicorn's access lines are written after Django has answered: their request id is the
    X-Request-ID the response carries (RequestIdMiddleware sets it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if isinstance(atoms, dict) or hasattr(atoms, "__getitem__"):
            try:
                value = atoms["{x-request-id}o"]  # type: ignore[index]
            except (KeyError, TypeError, IndexError):
                value = "-"
            record.request_id = value if isinstance(value, str) and value else "-"
        return True


def gunicorn_logconfig(log_format: str | None = None) -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its error and access logs on stdout/stderr, redacted, as
    JSON or text: LOG_FORMAT, else what the Django settings default to (json in production,
    the settings a process gets when DJANGO_SETTINGS_MODULE is unset; text otherwise)."""
    import os

    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "portal.settings.production")
    default = "json" if settings_module == "portal.settings.production" else "text"
    chosen = (log_format or os.environ.get("LOG_FORMAT") or default).lower()
    formatter = "json" if chosen == "json" else "plain"
    filters = ["redact", "request_id"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact": {"()": "portal.logging.RedactSecretsFilter"},
            "request_id": {"()": "portal.logging.GunicornAccessRequestIdFilter"},
        },
        "formatters": {
            "json": {"()": "portal.logging.JsonFormatter"},
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        },
        "handlers": {
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": filters,
                "stream": "ext://sys.stderr",
            },
            "console": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": filters,
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
        "root": {"level": "INFO", "handlers": []},
    }


# Sentry events: what a request carried beyond its path is dropped (cookies, headers, query
# string, body), and every string left is redacted as log lines are.
_SENTRY_REQUEST_KEEP = ("url", "method")


def sentry_before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Sentry's `before_send`: no cookies, headers, query strings, bodies or tokens."""
    request = event.get("request")
    if isinstance(request, dict):
        kept = {k: request[k] for k in _SENTRY_REQUEST_KEEP if k in request}
        if isinstance(kept.get("url"), str):
            kept["url"] = kept["url"].split("?", 1)[0]
        event["request"] = kept
    event.pop("user", None)
    return _redacted(event)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


def sentry_init(dsn: str, *, environment: str = "production") -> bool:
    """Errors to Sentry when SENTRY_DSN is set and sentry-sdk is installed (it is optional:
    not in requirements.txt). No PII, redacted events. True when Sentry was set up."""
    if not dsn:
        return False
    try:
        import sentry_sdk
    except ImportError:
        logging.getLogger(__name__).warning("SENTRY_DSN is set but sentry-sdk is not installed")
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        before_send=sentry_before_send,  # type: ignore[arg-type]
        traces_sample_rate=0.0,
    )
    return True
