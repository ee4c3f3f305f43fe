from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mscloud.errors import GraphUnavailable
from mscloud.graph import GraphClient
from mscloud.http import build_session, shared_session

from .fakes import FakeMicrosoft, reply, serve


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""
    out = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("mscloud test CA"))
        .issuer_name(_name("mscloud test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": out / "ca.pem", "cert": out / "server.pem", "key": out / "server-key.pem"}
    paths["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def https_fake(pki) -> Iterator[FakeMicrosoft]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["cert"], pki["key"])
    app = FakeMicrosoft()
    with serve(app, ssl_context=context) as url:
        app.url = url
        yield app


def _graph(url: str, session) -> GraphClient:
    return GraphClient(base_url=url, token="t", session=session, sleep=lambda s: None)


def test_build_session_ignores_the_environment_and_verifies_with_the_given_ca(pki):
    session = build_session(ca_bundle=str(pki["ca"]), pool_size=7, user_agent="portal/1")

    assert session.trust_env is False
    assert session.verify == str(pki["ca"])
    assert session.headers["User-Agent"] == "portal/1"
    adapter = session.get_adapter("https://graph.microsoft.com/")
    assert adapter._pool_maxsize == 7
    assert adapter.max_retries.total == 0
    assert build_session().verify is True


def test_it_reaches_an_https_server_with_the_ca_it_was_given_even_when_the_env_names_another(
    pki, https_fake, monkeypatch
):
    # The system bundle does not contain our throwaway CA: were it used, verification would fail.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    https_fake.queue(reply({"id": "org"}))

    graph = _graph(https_fake.url, build_session(ca_bundle=str(pki["ca"])))

    assert graph.get("/organization") == {"id": "org"}


def test_it_does_not_trust_a_ca_that_only_the_environment_names(pki, https_fake, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["ca"]))
    graph = _graph(https_fake.url, build_session())

    with pytest.raises(GraphUnavailable, match=r"certificate .* could not be verified"):
        graph.get("/organization")

    assert https_fake.seen == []  # and a certificate failure is not retried


def test_shared_session_is_one_pooled_session_per_ca_bundle_across_threads(pki):
    got: list = []
    threads = [
        threading.Thread(target=lambda: got.append(shared_session(str(pki["ca"]))))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len({id(s) for s in got}) == 1
    assert got[0].verify == str(pki["ca"]) and got[0].trust_env is False
    assert shared_session(None) is not got[0]
    assert shared_session(None) is shared_session(None)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_reuse_the_parents_session():
    parent = shared_session(None)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        same = shared_session(None) is parent
        os.write(write_end, b"same" if same else b"new")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 16)
    os.close(read_end)
    os.waitpid(pid, 0)

    assert answer == b"new"
    assert shared_session(None) is parent
