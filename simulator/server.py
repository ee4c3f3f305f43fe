"""Serving: threaded HTTP/1.1 with keep-alive, HTTPS with the TLS handshake in the worker.

Werkzeug's development server closes every connection (it cannot drain request bodies
safely), so this small WSGI server reads each body in full and keeps connections open.
"""

from __future__ import annotations

import contextlib
import io
import socket
import socketserver
import ssl
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes

HANDSHAKE_TIMEOUT = 10.0
# Idle keep-alive connections are closed after this; clients reconnect transparently.
IDLE_TIMEOUT = 120.0
MAX_BODY = 16 * 1024 * 1024
# Hop-by-hop headers are the server's business, not the application's.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class _BadRequest(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "csp-simulator/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: SimServer

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (TimeoutError, ConnectionError, ssl.SSLError):
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        # parse_request also answers "Expect: 100-continue" and reads Connection: close.
        if not self.parse_request():
            return
        try:
            body = self._read_body()
        except _BadRequest:
            self.send_error(400)
            self.close_connection = True
            return
        self._run_wsgi(body)
        self.wfile.flush()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError as exc:
            raise _BadRequest from exc
        if size < 0 or size > MAX_BODY:
            raise _BadRequest
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _BadRequest from exc
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise _BadRequest
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        if "://" in path:  # absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": self.path,
            "RAW_URI": self.path,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": self.client_address[1],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if self.server.tls else "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)) if body else "",
        }
        for key, value in self.headers.items():
            name = key.upper().replace("-", "_")
            if "_" in key or name in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
                continue  # underscores could spoof other headers; length is ours
            if name == "CONTENT_TYPE":
                environ[name] = value
                continue
            name = f"HTTP_{name}"
            environ[name] = f"{environ[name]},{value}" if name in environ else value
        return environ

    def _run_wsgi(self, body: bytes) -> None:
        environ = self._environ(body)
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            traceback.print_exc(file=sys.stderr)
            started[:] = ["500 Internal Server Error", [("Content-Type", "text/plain")]]
            chunks = [b"Simulator error\n"]
        status, headers = started
        payload = b"".join(chunks)
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        if int(code) >= 200 and int(code) not in (204, 304):
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Every request is in /_sim/requests; a line per request on stderr would only
        # slow benchmarks down and fill pipes nobody reads.
        return


class SimServer(socketserver.ThreadingMixIn, HTTPServer):
    """A thread per connection; with TLS, the handshake runs in that thread, not in accept().

    Wrapping the listening socket instead would make accept() do the handshake: one slow
    or broken client would then stall every other connection.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, app: Any, tls: ssl.SSLContext | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)
        self.app = app
        self.tls = tls

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Responses go out as two writes (head, body); with Nagle on, each keep-alive
        # round trip would wait for the client's delayed ACK.
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls_socket = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that does not trust the CA, or a port scanner
        try:
            tls_socket.settimeout(IDLE_TIMEOUT)
            super().finish_request(tls_socket, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls_socket.shutdown(socket.SHUT_RDWR)
            tls_socket.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError | ssl.SSLError):
            return
        super().handle_error(request, client_address)


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


def start(server: SimServer, name: str) -> None:
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
