"""The request log names whose token each Graph request carried."""

from __future__ import annotations

from tests.simharness import Simulator


def test_the_log_records_the_app_as_caller_of_an_app_only_graph_request():
    with Simulator() as sim:
        us = next(r for r in sim.info()["regions"] if r["slug"] == "us")
        session = sim.new_session()
        token = sim.app_token(us, us["partner_tenant_id"])
        answer = session.get(
            f"{sim.base_url}/graph/v1.0/organization",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 200
        entry = next(r for r in reversed(sim.requests()["requests"]) if r["kind"] == "graph")
        assert entry["caller"] == f"app:{us['app']['client_id']}"
        assert entry["tenant"] == us["partner_tenant_id"]
