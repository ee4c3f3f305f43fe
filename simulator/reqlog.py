"""Monotonic request counters and a bounded log of recent requests (GET /_sim/requests)."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

# Kinds that always appear in the counters, so a client can read them without .get().
KINDS = ("token", "graph", "partnercenter", "discovery", "authorize")
MAX_ENTRIES = 5000


def kind_of(path: str) -> str:
    """The log kind of a request path (see docs/simulator-internals.md)."""
    if path.startswith("/_sim/") or path == "/_sim":
        return "control"
    if path.startswith("/graph/"):
        return "graph"
    if path.startswith("/partnercenter/"):
        return "partnercenter"
    if path.endswith("/token"):
        return "token"
    if path.endswith("/openid-configuration") or path.endswith("/keys"):
        return "discovery"
    if path.endswith("/authorize"):
        return "authorize"
    return "other"


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def without_passwords(value: Any) -> Any:
    """The JSON with every key naming a password dropped, at any depth."""
    if isinstance(value, dict):
        return {
            k: without_passwords(v) for k, v in value.items() if "password" not in str(k).lower()
        }
    if isinstance(value, list):
        return [without_passwords(v) for v in value]
    return value


class RequestLog:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._counters: Counter[str] = Counter()
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)

    def record(
        self,
        *,
        method: str,
        path: str,
        tenant: str | None,
        status: int,
        kind: str,
        caller: str | None = None,
        body: Any = None,
        items: list[dict[str, Any]] | None = None,
        client_request_id: str | None = None,
    ) -> None:
        # `caller`: whose token it was (the user's oid, or "app:<appid>") — lets a test prove
        # that every Graph request carried the token of the session that caused it.
        entry = {
            "method": method,
            "path": path,
            "tenant": tenant,
            "status": status,
            "kind": kind,
            "caller": caller,
        }
        if body is not None:
            entry["body"] = body  # Partner Center writes: the JSON sent, passwords removed
        if client_request_id:
            # The id the client sent (Graph's client-request-id): what a support case quotes.
            entry["client_request_id"] = client_request_id[:64]
        if items is not None:
            entry["items"] = items  # a $batch: its inner requests (method, path, status, at)
        with self._lock:
            self._counters[kind] += 1
            self._entries.append(entry)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            counters = dict.fromkeys(KINDS, 0)
            counters.update(self._counters)
            return {"counters": counters, "requests": list(self._entries)}

    def reset(self) -> None:
        with self._lock:
            self._counters.clear()
            self._entries.clear()
