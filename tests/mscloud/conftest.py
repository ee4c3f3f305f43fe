from __future__ import annotations

import random
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from mscloud.graph import GraphClient
from mscloud.http import build_session
from mscloud.partnercenter import PartnerCenterClient
from simulator.certs import ensure_certificates

from .fakes import LOCAL, FakeMicrosoft, SleepRecorder, serve


@pytest.fixture
def fake() -> Iterator[FakeMicrosoft]:
    app = FakeMicrosoft()
    with serve(app) as url:
        app.url = url
        yield app
        app.release.set()  # let a deliberately slow answer finish before shutdown


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it (the simulator's own
    generator: this test needs any private CA, not the simulator)."""
    paths = ensure_certificates(tmp_path_factory.mktemp("pki"))
    return {"ca": paths.ca, "cert": paths.cert, "key": paths.key}


@pytest.fixture
def https_fake(pki) -> Iterator[FakeMicrosoft]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["cert"], pki["key"])
    app = FakeMicrosoft()
    with serve(app, ssl_context=context) as url:
        app.url = url
        yield app


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def make_graph(fake: FakeMicrosoft, sleeps: SleepRecorder):
    def make(**kwargs) -> GraphClient:
        options = {
            "base_url": f"{fake.url}/graph",
            "token": "token-abc",
            "session": build_session(**LOCAL),
            "timeout": (1, 2),
            "sleep": sleeps,
            "rng": random.Random(7),
        }
        options.update(kwargs)
        return GraphClient(**options)

    return make


@pytest.fixture
def graph(make_graph) -> GraphClient:
    return make_graph()


@pytest.fixture
def partner_center(fake: FakeMicrosoft, sleeps: SleepRecorder) -> PartnerCenterClient:
    return PartnerCenterClient(
        base_url=f"{fake.url}/partnercenter",
        token="pc-token",
        session=build_session(**LOCAL),
        timeout=(1, 2),
        sleep=sleeps,
        rng=random.Random(7),
    )
