"""Helpers of the notification tests: a local webhook receiver, a channel, an opened alert."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from accounts.models import Role
from alerts.models import Alert, NotificationChannel
from alerts.notifications import channel_create
from alerts.services import alerts_evaluate
from tests.factories import user_make


class Receiver:
    """A webhook receiver on 127.0.0.1 that records each request and answers `status`."""

    def __init__(self, status: int = 200, delay: float = 0) -> None:
        self.status = status
        self.delay = delay  # seconds before answering, for a send that takes a while
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0SECRETPATH"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def channel_make(region, kind, target, *, admin=None, name=None) -> tuple[NotificationChannel, str]:
    admin = admin or user_make(region=region, role=Role.ADMIN)
    return channel_create(
        region=region, kind=kind, name=name or f"{kind} channel", target=target, user=admin
    )


def alert_opened(region, customer, record_sweep) -> Alert:
    """Open a compliance alert the way a sweep does: a rate below the threshold, evaluated."""
    record_sweep(customer, 50)
    alerts_evaluate(region=region)
    return Alert.objects.get(region=region, kind="compliance_below")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
