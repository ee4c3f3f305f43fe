"""The request log names whose token each Graph request carried."""

from __future__ import annotations

from tests.simharness import Simulator


def test_the_log_records_the_app_as_caller_of_an_app_only_graph_request():
    with Simulator() as sim:
        us = next(r for r in sim.info()["regions"] if r["slug"] == "us")
        session = sim.new_session()
        token = session.post(
            f"{sim.base_url}/{us['partner_tenant_id']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": us["app"]["client_id"],
                "client_secret": us["app"]["client_secret"],
                "scope": "https://graph.microsoft.com/.default",
            },
            timeout=10,
        ).json()["access_token"]
        answer = session.get(
            f"{sim.base_url}/graph/v1.0/organization",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 200
        entry = next(r for r in reversed(sim.requests()["requests"]) if r["kind"] == "graph")
        assert entry["caller"] == f"app:{us['app']['client_id']}"
        assert entry["tenant"] == us["partner_tenant_id"]
