"""A scripted local HTTP server: each test queues the answers Microsoft would give."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

Answer = Response | Callable[[Request], Response]

# The fakes listen on 127.0.0.1 over plain http: a session must be allowed to reach them
# (production sessions refuse loopback and http://; tests/security/test_ssrf.py).
LOCAL = {"allow_private_hosts": True, "require_https": False}


def reply(body: object = None, status: int = 200, headers: dict | None = None) -> Response:
    data = "" if body is None else json.dumps(body)
    return Response(data, status=status, headers=headers, content_type="application/json")


def graph_error(
    status: int, code: str, message: str, request_id: str = "req-1", headers: dict | None = None
) -> Response:
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": "2026-11-26T10:00:00", "request-id": request_id},
        }
    }
    return reply(body, status=status, headers=headers)


@dataclass
class Seen:
    method: str
    path: str
    args: dict[str, list[str]]
    headers: dict[str, str]
    body: object
    query: str


@dataclass
class FakeMicrosoft:
    """Answers queued responses in order and records every request it got."""

    answers: deque[Answer] = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    release: threading.Event = field(default_factory=threading.Event)

    def queue(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def __call__(self, environ, start_response):
        request = Request(environ)
        raw = request.get_data()
        self.seen.append(
            Seen(
                method=request.method,
                path=request.path,
                args={k: request.args.getlist(k) for k in request.args},
                headers=dict(request.headers),
                body=_body(raw),
                query=environ.get("QUERY_STRING", ""),
            )
        )
        answer = self.answers.popleft() if self.answers else reply({"unscripted": True}, 418)
        response = answer if isinstance(answer, Response) else answer(request)
        return response(environ, start_response)


def _body(raw: bytes) -> object:
    """JSON bodies parsed; others (token requests are form-encoded) as text."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass  # keeps test output about the client, not the fake


@contextmanager
def serve(app, ssl_context=None) -> Iterator[str]:
    """Run a WSGI app on 127.0.0.1 on a free port in a thread; yields its base URL."""
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context, request_handler=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    scheme = "https" if ssl_context else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SleepRecorder:
    """Stands in for time.sleep so retry waits are recorded, not slept."""

    delays: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
