"""Processes for the multi-machine shape test: gunicorn webs with production settings, a TCP
proxy in front of PostgreSQL that a test can cut, and a client that speaks to a web as the
ingress would (Host, X-Forwarded-Proto: https, cookies kept by hand: requests would not send
the Secure `__Host-` cookies over the plain http between ingress and pod)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
HOST = "portal.test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TcpProxy:
    """Forwards 127.0.0.1:port to a target; `stop()` refuses and cuts every connection."""

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.port = port or free_port()
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._hanging = False

    def start(self) -> None:
        self._hanging = False
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            if self._hanging:  # accepted, never answered: a database that hangs
                with self._lock:
                    self._conns.append(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def hang(self) -> None:
        """Cut every connection; new ones are accepted and never answered."""
        self._hanging = True
        self._cut()

    def stop(self) -> None:
        if self._server is not None:
            # shutdown() first: close() alone leaves a thread blocked in accept() listening.
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        self._cut()

    def _cut(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


class Web:
    """`gunicorn -c python:portal.gunicorn_conf portal.wsgi` on a free port, logging to a file."""

    def __init__(self, name: str, env: dict[str, str], workers: int = 2) -> None:
        self.name = name
        self.port = free_port()
        (ROOT / "artifacts").mkdir(exist_ok=True)
        self.log_path = ROOT / "artifacts" / f"multiprocess-{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:portal.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--timeout",
                "60",
                "portal.wsgi",
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_live(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited; see {self.log_path}")
            try:
                if requests.get(f"{self.url}/livez", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn {self.name} did not answer /livez in {timeout} s")

    def log_lines(self) -> list[str]:
        self._log.flush()
        return [line for line in self.log_path.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


class Browser:
    """One person's browser behind the ingress: any web, one cookie jar."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}
        self.http = requests.Session()
        self.http.trust_env = False

    def request(self, web: Web, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "Origin": f"https://{HOST}",
            "Referer": f"https://{HOST}/",
            **kwargs.pop("headers", {}),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.http.cookies.clear()
        response = self.http.request(
            method, f"{web.url}{path}", headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        for cookie in response.cookies:
            if cookie.value:
                self.cookies[cookie.name] = cookie.value
            else:
                self.cookies.pop(cookie.name, None)
        return response

    def get(self, web: Web, path: str, **kwargs: Any) -> requests.Response:
        return self.request(web, "GET", path, **kwargs)

    def post(self, web: Web, path: str, **kwargs: Any) -> requests.Response:
        return self.request(web, "POST", path, **kwargs)


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)
