"""Serving: TLS names, the plain-HTTP port's scope, keep-alive, handshakes off the accept loop."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import sys
import time

import requests

from tests.simharness import ROOT


def test_https_is_trusted_for_localhost_and_127_0_0_1_with_the_ca(sim):
    session = sim.new_session()

    for host in ("127.0.0.1", "localhost"):
        response = session.get(f"https://{host}:{sim.port}/_sim/", timeout=5)
        assert response.status_code == 200


def test_https_is_not_trusted_without_the_ca(sim):
    session = requests.Session()
    session.trust_env = False

    try:
        session.get(f"{sim.base_url}/_sim/", timeout=5)
    except requests.exceptions.SSLError:
        return
    raise AssertionError("the simulator's certificate was trusted without its CA")


def test_the_plain_http_port_serves_only_the_browser_pages(sim):
    session = requests.Session()
    session.trust_env = False

    assert session.get(f"{sim.http_base}/_sim/", timeout=5).status_code == 404
    assert (
        session.get(f"{sim.http_base}/common/oauth2/v2.0/authorize", timeout=5).status_code == 400
    )


def test_one_connection_carries_several_requests(sim):
    context = ssl.create_default_context(cafile=sim.ca)
    connection = http.client.HTTPSConnection("127.0.0.1", sim.port, context=context, timeout=5)

    sockets = []
    for _ in range(3):
        connection.request("GET", "/_sim/faults")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        assert response.getheader("Connection") != "close"
        sockets.append(connection.sock)
    connection.close()

    assert sockets[0] is not None and sockets.count(sockets[0]) == 3


def test_a_post_body_is_read_in_full_before_the_next_request_on_the_connection(sim):
    context = ssl.create_default_context(cafile=sim.ca)
    connection = http.client.HTTPSConnection("127.0.0.1", sim.port, context=context, timeout=5)

    # The token endpoint refuses this at once, without needing the body's content.
    connection.request("POST", "/nope.example/oauth2/v2.0/token", body=b"x=" + b"y" * 200_000)
    first = connection.getresponse()
    first.read()
    connection.request("GET", "/_sim/faults")
    second = connection.getresponse()

    assert first.status == 400
    assert second.status == 200 and second.read().startswith(b"{")
    connection.close()


def test_a_client_stuck_before_the_handshake_does_not_block_others(sim):
    stuck = socket.create_connection(("127.0.0.1", sim.port))
    try:
        started = time.monotonic()
        response = sim.session.get(f"{sim.base_url}/_sim/faults", timeout=5)
        assert response.status_code == 200
        assert time.monotonic() - started < 2
    finally:
        stuck.close()


def test_the_v1_discovery_and_the_keys_are_served_per_tenant(sim, us):
    tenant = us["partner_domain"]

    v1 = sim.session.get(f"{sim.base_url}/{tenant}/.well-known/openid-configuration").json()
    keys = sim.session.get(f"{sim.base_url}/{tenant}/discovery/v2.0/keys").json()["keys"]

    assert v1["token_endpoint"] == f"{sim.base_url}/{us['partner_tenant_id']}/oauth2/token"
    assert v1["issuer"] == f"https://sts.windows.net/{us['partner_tenant_id']}/"
    assert {"kty", "use", "kid", "x5t", "n", "e", "x5c"} <= set(keys[0])


def test_the_command_line_prints_the_ready_line_and_refuses_a_bad_throttle(tmp_path):
    bad = subprocess.run(
        [sys.executable, "-m", "simulator", "serve", "--throttle", "many", "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "serve", "--port", "0", "--http-port", "0",
         "--data-dir", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        ready = json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert bad.returncode == 2 and "--throttle" in bad.stderr
    assert ready["ready"] is True and ready["port"] > 0 and ready["http_port"] > 0
    assert ready["ca"] == str(tmp_path / "ca.pem")
    assert (tmp_path / "server.pem").exists() and (tmp_path / "server-key.pem").exists()
