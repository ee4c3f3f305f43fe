"""A plain HTTP client of the simulator's Graph, as an app in a customer tenant would be."""

from __future__ import annotations

from typing import Any

import requests

from tests.simharness import Simulator

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
EVENTUAL = {"ConsistencyLevel": "eventual"}


class GraphApp:
    """The US region's app: client-credentials tokens per tenant, then Graph calls."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.info = sim.info()
        self.session = sim.new_session()
        self.graph = self.info["endpoints"]["graph"]
        self.us = next(r for r in self.info["regions"] if r["slug"] == "us")
        self._tokens: dict[str, str] = {}

    def customer(self) -> dict[str, Any]:
        """The first active, consented customer of the region."""
        return next(
            c
            for c in self.us["customers"]
            if c["relationship"]["status"] == "active"
            and c["app_consent"]["consented"]
            and not c.get("big")
        )

    def token(self, tenant: str) -> str:
        if tenant not in self._tokens:
            app = self.us["app"]
            answer = self.session.post(
                f"{self.sim.base_url}/{tenant}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": app["client_id"],
                    "client_secret": app["client_secret"],
                    "scope": GRAPH_DEFAULT,
                },
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            self._tokens[tenant] = answer.json()["access_token"]
        return self._tokens[tenant]

    def get(
        self, path: str, tenant: str | None = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        tenant = tenant or self.customer()["tenant_id"]
        url = path if path.startswith("https://") else f"{self.graph}{path}"
        sent = {"Authorization": f"Bearer {self.token(tenant)}", **(headers or {})}
        return self.session.get(url, headers=sent, timeout=30)

    def post(self, path: str, body: Any, tenant: str | None = None) -> requests.Response:
        tenant = tenant or self.customer()["tenant_id"]
        sent = {"Authorization": f"Bearer {self.token(tenant)}"}
        return self.session.post(f"{self.graph}{path}", json=body, headers=sent, timeout=30)


def graph_error(response: requests.Response) -> dict[str, Any]:
    """The `error` object of a Graph error body, after checking its shape."""
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "innerError"}
    return error
