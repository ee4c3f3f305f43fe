"""A logging filter that masks anything token-shaped before it reaches a handler."""

import logging
import re

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
