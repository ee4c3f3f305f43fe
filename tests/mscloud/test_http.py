from __future__ import annotations

import os
import threading

import pytest

from mscloud.errors import GraphUnavailable
from mscloud.graph import GraphClient
from mscloud.http import build_session, shared_session

from .fakes import LOCAL, reply


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

    graph = _graph(https_fake.url, build_session(ca_bundle=str(pki["ca"]), **LOCAL))

    assert graph.get("/organization") == {"id": "org"}


def test_it_does_not_trust_a_ca_that_only_the_environment_names(pki, https_fake, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["ca"]))
    graph = _graph(https_fake.url, build_session(**LOCAL))

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
