import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from portal.logging import RedactSecretsFilter, redact


def test_jwts_are_masked():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl"
    assert "eyJ" not in redact(f"token {jwt} end")


def test_codes_and_secrets_in_query_strings_are_masked():
    text = redact("GET /auth/callback/?code=0.AbCdEf123&state=s client_secret=shh password=p1")
    assert "AbCdEf123" not in text and "shh" not in text and "p1" not in text
    assert "state=s" in text


def test_the_filter_rewrites_log_records_with_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "auth %s", ("Bearer abc.def",), None)
    RedactSecretsFilter().filter(record)
    assert "abc.def" not in record.getMessage()


ROOT = Path(__file__).resolve().parents[2]
SECRET_CODE = "SECRETCODE0123456789"


@pytest.mark.django_db(transaction=True)
def test_runserver_logs_the_callback_path_without_its_authorization_code():
    """Through runserver's own request handler (django.server), as `make run` serves it."""
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()  # sets logging up again: before our handler is added
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    capture = Capture()
    server_logger = logging.getLogger("django.server")
    server_logger.addHandler(capture)
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        session = requests.Session()
        session.trust_env = False
        session.get(f"{url}/auth/callback/?code={SECRET_CODE}&state=abc", timeout=10)
        session.get(f"{url}/signin/?next=/customers/%3Fcode%3D{SECRET_CODE}", timeout=10)
    finally:
        server.shutdown()
        server.server_close()
        server_logger.removeHandler(capture)

    assert any("/auth/callback/" in line for line in lines), lines
    assert not any(SECRET_CODE in line for line in lines), lines


@pytest.mark.django_db(transaction=True)
def test_gunicorns_access_log_names_paths_without_query_strings(tmp_path):
    """gunicorn with the portal's config file, as the Dockerfile starts it."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
    }
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "-c", "python:portal.gunicorn_conf",
             "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            session = requests.Session()
            session.trust_env = False
            for _ in range(100):
                try:
                    session.get(f"http://127.0.0.1:{port}/livez?code={SECRET_CODE}", timeout=2)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            session.get(f"http://127.0.0.1:{port}/auth/callback/?code={SECRET_CODE}", timeout=10)
            time.sleep(0.3)
        finally:
            process.terminate()
            process.wait(timeout=20)

    text = log.read_text()
    assert '"GET /livez HTTP/1.1" 200' in text
    assert "/auth/callback/ HTTP/1.1" in text
    assert SECRET_CODE not in text
