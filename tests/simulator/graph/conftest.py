"""A simulator with a 100k-user tenant for the Graph and Partner Center tests, and a client."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulator.signing import SigningKeys
from tests.simharness import Simulator

BIG_TENANT_USERS = 100_000
GRAPH = "https://graph.microsoft.com"
PARTNER_CENTER = "https://api.partnercenter.microsoft.com"


@pytest.fixture(scope="session")
def graph_sim() -> Iterator[Simulator]:
    simulator = Simulator("--big-tenant-users", str(BIG_TENANT_USERS), "--customers", "4")
    yield simulator
    simulator.stop()


class SimClient:
    """Talks to the simulator like a client app: tokens from its token endpoint, then calls."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.info = sim.info()
        self.session = sim.new_session()  # trust_env off, verify = the simulator's CA
        self.graph = self.info["endpoints"]["graph"]
        self.partner_center = self.info["endpoints"]["partner_center"]
        self.us = next(r for r in self.info["regions"] if r["slug"] == "us")

    def customer(self, relationship: str = "active", big: bool = False) -> dict[str, Any]:
        return next(
            c
            for c in self.us["customers"]
            if c["relationship"]["status"] == relationship and c.get("big", False) == big
        )

    def token(self, tenant: str, resource: str = GRAPH) -> str:
        app = self.us["app"]
        response = self.session.post(
            f"{self.sim.base_url}/{tenant}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "scope": f"{resource}/.default",
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def mint(self, tenant: str, **claims: Any) -> str:
        """A token signed with the simulator's key, for cases its token endpoint never issues
        (e.g. one obtained before a relationship expired)."""
        keys = SigningKeys.load_or_create(self.sim.data_dir)
        now = int(time.time())
        body = {
            "aud": GRAPH,
            "iss": f"https://sts.windows.net/{tenant}/",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "tid": tenant,
            "appid": self.us["app"]["client_id"],
            "idtyp": "app",
            "oid": str(uuid.uuid4()),
            "roles": ["Directory.Read.All"],
            "ver": "1.0",
        }
        body.update(claims)
        return keys.sign(body)

    def get(
        self, path: str, token: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        url = path if path.startswith("https://") else f"{self.graph}{path}"
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        return self.session.get(url, headers=sent, timeout=30, **kwargs)

    def post(self, path: str, token: str, body: Any, **headers: str) -> requests.Response:
        sent = {"Authorization": f"Bearer {token}", **headers}
        return self.session.post(f"{self.graph}{path}", json=body, headers=sent, timeout=30)


@pytest.fixture
def cloud(graph_sim: Simulator) -> Iterator[SimClient]:
    """A client of the seeded world; faults and created customers are undone afterwards.

    Named `cloud` so that it does not shadow pytest-django's `client`.
    """
    sim_client = SimClient(graph_sim)
    yield sim_client
    sim_client.session.close()
    graph_sim.reset()


def graph_error(response: requests.Response) -> dict[str, Any]:
    """The error object of a Graph error body, after checking its shape."""
    error = response.json()["error"]
    assert set(error) == {"code", "message", "innerError"}
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    return error


@pytest.fixture(autouse=True)
def _fresh_seed(request: pytest.FixtureRequest) -> Iterator[None]:
    """tests/simulator/conftest.py resets its `sim` after every test; here most tests run on
    `graph_sim` (reset by `cloud`), so only a test that used `sim` starts or resets it."""
    yield
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").reset()
