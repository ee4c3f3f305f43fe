from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from mscloud.graph import GraphClient
from mscloud.http import build_session
from mscloud.partnercenter import PartnerCenterClient

from .fakes import FakeMicrosoft, SleepRecorder, serve


@pytest.fixture
def fake() -> Iterator[FakeMicrosoft]:
    app = FakeMicrosoft()
    with serve(app) as url:
        app.url = url
        yield app
        app.release.set()  # let a deliberately slow answer finish before shutdown


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def make_graph(fake: FakeMicrosoft, sleeps: SleepRecorder):
    def make(**kwargs) -> GraphClient:
        options = {
            "base_url": f"{fake.url}/graph",
            "token": "token-abc",
            "session": build_session(),
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
        session=build_session(),
        timeout=(1, 2),
        sleep=sleeps,
        rng=random.Random(7),
    )
