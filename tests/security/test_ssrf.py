"""Server-side request forgery through a region's endpoints (issue 12).

An admin (or whoever gets at a region's settings) chooses the URLs the portal calls with the
app's credential. Against real local listeners: a redirect is never followed, for any verb
and whoever sends the request (our clients and MSAL's discovery); an answer's body is never
echoed; and with production's policy, loopback, private and link-local hosts are refused when
a region is saved and again when a connection is made (so DNS cannot change the answer).

Microsoft's endpoints answer where they are asked: the OpenID configuration, token and Graph
endpoints are fixed per cloud, and none of them relies on a client following redirects.
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc
# Reference: https://learn.microsoft.com/en-us/graph/deployments
"""

from __future__ import annotations

import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mscloud.errors import ErrorKind, GraphError
from mscloud.graph import GraphClient
from mscloud.http import address_refusal, build_session
from mscloud.identity import IdentityError
from regionadmin.forms import RegionForm
from regions.models import Cloud, Region
from regions.msal_app import region_app
from regions.setup import Status, run_check
from simulator.certs import ensure_certificates
from tests.factories import region_make

pytestmark = pytest.mark.django_db

LEAK = "root:x:0:0:INSTANCE-METADATA-SECRET"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throwaway CA and a certificate for 127.0.0.1 (MSAL takes https authorities only)."""
    paths = ensure_certificates(tmp_path_factory.mktemp("ssrf-pki"))
    return {"ca": paths.ca, "cert": paths.cert, "key": paths.key}


@dataclass
class Listener:
    url: str
    hits: list[str] = field(default_factory=list)


@contextmanager
def listener(
    status: int = 200, body: str = LEAK, location: str = "", tls: dict[str, Path] | None = None
) -> Iterator[Listener]:
    """A real HTTP(S) server on 127.0.0.1 that answers every request with `status` and `body`
    (and `Location` when given) and records each request it got."""
    record = Listener(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            record.hits.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            payload = body.encode()
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls["cert"], tls["key"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    record.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def redirect_to_target(
    status: int = 302, tls: dict[str, Path] | None = None
) -> Iterator[tuple[Listener, Listener]]:
    """(redirector, target): the redirector sends every request on to the target, which
    stands for 169.254.169.254 or an internal service and must never be reached."""
    with (
        listener(body="the internal service answered", tls=tls) as target,
        listener(status=status, location=f"{target.url}/latest/meta-data/", tls=tls) as hop,
    ):
        yield hop, target


def _custom_region(login_host: str, ca_bundle: Path | None = None) -> Region:
    return region_make(
        slug=f"r{uuid.uuid4().hex[:6]}",
        cloud=Cloud.CUSTOM,
        login_host=login_host,
        graph_base_url=login_host,
        partner_center_base_url=login_host,
        ca_bundle=str(ca_bundle or ""),
    )


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_the_setup_checklist_does_not_follow_a_redirect_of_the_discovery_endpoint(status):
    with redirect_to_target(status) as (hop, target):
        result = run_check(region=_custom_region(hop.url), key="discovery")

    assert len(hop.hits) == 1
    assert target.hits == []
    assert result.status == Status.FAIL
    assert "redirect" in result.error and f"HTTP {status}" in result.error
    assert LEAK not in f"{result.summary} {result.error} {result.fix}"


def test_the_setup_checklist_never_echoes_the_body_of_a_non_microsoft_answer():
    with listener(status=404, body=LEAK) as host:
        result = run_check(region=_custom_region(host.url), key="discovery")

    assert host.hits  # it was asked, and answered with a page that is not Entra's
    assert result.status == Status.FAIL
    assert "HTTP 404" in result.summary
    assert "INSTANCE-METADATA" not in f"{result.summary} {result.error} {result.fix}"
    assert "without an Entra error" in result.error


def test_msal_discovery_follows_no_redirect(pki):
    with redirect_to_target(307, tls=pki) as (hop, target):
        region = _custom_region(hop.url, ca_bundle=pki["ca"])
        with pytest.raises(IdentityError) as raised:
            region_app(region).token_for_client(scopes=["x/.default"])

    assert raised.value.kind == ErrorKind.ENDPOINT_REFUSED
    assert "follows no redirects" in raised.value.description
    assert LEAK not in str(raised.value)
    assert len(hop.hits) == 1 and hop.hits[0].startswith("GET ")
    assert target.hits == []


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_graph_calls_follow_no_redirect_whatever_the_verb(method):
    with redirect_to_target(307) as (hop, target):
        graph = GraphClient(
            base_url=hop.url,
            token="t",
            session=build_session(allow_private_hosts=True, require_https=False),
            sleep=lambda s: None,
        )
        with pytest.raises(GraphError) as raised:
            graph.request(method, "/users", json=None if method in ("get", "delete") else {})

    assert raised.value.kind == ErrorKind.ENDPOINT_REFUSED
    assert len(hop.hits) == 1  # a refused redirect is not retried either
    assert target.hits == []


def test_production_refuses_a_plain_http_endpoint_before_sending_anything(settings):
    settings.MICROSOFT_ALLOW_PRIVATE_HOSTS = False
    settings.MICROSOFT_REQUIRE_HTTPS = True
    with listener() as host:
        result = run_check(region=_custom_region(host.url), key="discovery")

    assert host.hits == []
    assert result.status == Status.FAIL
    assert "https only" in result.error


def test_production_refuses_a_loopback_peer_at_connect_time_whatever_the_name_resolved_to(
    settings, pki
):
    # "localhost" passes no literal-IP check: only the connected socket's peer tells.
    settings.MICROSOFT_ALLOW_PRIVATE_HOSTS = False
    with listener(tls=pki) as host:
        region = _custom_region(host.url.replace("127.0.0.1", "localhost"), pki["ca"])
        result = run_check(region=region, key="discovery")
        with pytest.raises(IdentityError) as raised:
            region_app(region).token_for_client(scopes=["x/.default"])

    assert host.hits == []
    assert result.status == Status.FAIL
    assert "loopback" in result.error
    assert raised.value.kind == ErrorKind.ENDPOINT_REFUSED


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.5", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("0.0.0.0", True),  # noqa: S104 - an address to refuse, not to bind
        ("224.0.0.1", True),
        ("100.64.0.1", True),  # carrier-grade NAT: not global
        ("::1", True),
        ("fe80::1", True),
        ("fd00::1", True),  # unique local (ULA)
        ("::ffff:127.0.0.1", True),
        ("::", True),
        ("20.190.151.68", False),  # login.microsoftonline.com's range
        ("2603:1037:1:c8::8", False),
    ],
)
def test_loopback_private_link_local_and_other_non_global_addresses_are_refused(address, refused):
    assert (address_refusal(address) is not None) is refused


def _form(**endpoints: str) -> RegionForm:
    data = {
        "name": "Evil",
        "slug": "evil",
        "active": "on",
        "domains": "evil.example",
        "partner_tenant_id": str(uuid.uuid4()),
        "cloud": "custom",
        "login_host": "https://login.microsoftonline.com",
        "graph_base_url": "https://graph.microsoft.com",
        "graph_resource": "https://graph.microsoft.com",
        "partner_center_base_url": "https://api.partnercenter.microsoft.com",
        "partner_center_resource": "https://api.partnercenter.microsoft.com",
        "client_id": str(uuid.uuid4()),
        "credential_type": "secret",
        "client_secret": "s",
        "client_secret_expires_on": "2099-01-01",
        **endpoints,
    }
    form = RegionForm(data=data, instance=Region())
    form.is_valid()
    return form


@pytest.mark.parametrize(
    ("field_name", "url", "says"),
    [
        ("login_host", "https://169.254.169.254", "link-local"),
        ("login_host", "https://127.0.0.1:9443", "loopback"),
        ("graph_base_url", "https://localhost:9443/graph", "loopback"),
        ("partner_center_base_url", "https://10.0.0.8/pc", "private"),
        ("login_host", "https://[::1]:9443", "loopback"),
        ("login_host", "http://127.0.0.1:9443", "https://"),
    ],
)
def test_in_production_saving_a_region_refuses_non_public_endpoint_hosts_with_a_field_error(
    settings, field_name, url, says
):
    settings.MICROSOFT_ALLOW_PRIVATE_HOSTS = False
    settings.MICROSOFT_REQUIRE_HTTPS = True

    errors = _form(**{field_name: url}).errors

    assert field_name in errors
    assert says in " ".join(errors[field_name])


def test_in_development_the_local_simulator_on_loopback_stays_a_valid_endpoint(settings):
    settings.MICROSOFT_ALLOW_PRIVATE_HOSTS = True
    settings.MICROSOFT_REQUIRE_HTTPS = False

    errors = _form(login_host="https://127.0.0.1:9443", graph_base_url="http://localhost:1").errors

    assert "login_host" not in errors and "graph_base_url" not in errors
