"""The /_sim/ control API: the seeded world, faults, reset, the request log, invitations."""

from __future__ import annotations

import time
from pathlib import Path

from tests.simharness import Simulator
from tests.simulator.conftest import GRAPH_DEFAULT, active_customer, expired_customer, msal_app


def discovery(sim, tenant):
    return sim.session.get(
        f"{sim.base_url}/{tenant}/v2.0/.well-known/openid-configuration", timeout=10
    )


def test_the_info_document_describes_both_regions_and_their_agents(sim, world):
    us, eu = world["regions"]

    assert (us["slug"], us["name"], us["partner_domain"]) == (
        "us",
        "United States",
        "contosopartners.com",
    )
    assert (eu["slug"], eu["name"], eu["partner_domain"]) == ("eu", "Europe", "contosopartners.eu")
    assert world["endpoints"]["login"] == sim.base_url
    assert world["endpoints"]["graph"] == f"{sim.base_url}/graph"
    assert world["endpoints"]["partner_center"] == f"{sim.base_url}/partnercenter"
    assert world["endpoints"]["browser_login"] == sim.http_base
    assert Path(world["ca"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    for region in (us, eu):
        assert len(region["customers"]) == 9
        assert [c["relationship"]["status"] for c in region["customers"]].count("expired") == 1
        assert all(c["domain"].endswith(".onmicrosoft.com") for c in region["customers"])
        assert region["app"]["client_id"] and region["app"]["client_secret"]
    roles = {a["username"]: a["roles"] for a in world["agents"]}
    assert roles["agent@contosopartners.com"] == ["Portal.Agent"]
    assert roles["manager@contosopartners.eu"] == ["Portal.Manager"]
    assert roles["admin@contosopartners.com"] == ["Portal.Admin"]
    assert roles["norole@contosopartners.eu"] == []


def test_faults_apply_globally_and_per_tenant_and_read_back(sim, us):
    tenant = active_customer(us)["tenant_id"]

    sim.faults(latency_ms=5, throttle={"limit": 10, "window": 2})
    effective = sim.faults(tenant=tenant, propagation_mode="no_roles", token_lifetime=600)

    assert effective["global"]["latency_ms"] == 5
    assert effective["global"]["throttle"] == {"limit": 10, "window": 2.0}
    assert effective["tenants"][tenant] == {"propagation_mode": "no_roles", "token_lifetime": 600}
    assert sim.faults() == effective


def test_an_invalid_fault_setting_is_refused(sim):
    response = sim.session.post(f"{sim.base_url}/_sim/faults", json={"error_rate": 7})

    assert response.status_code == 400
    assert "error_rate" in response.json()["error"]


def test_latency_slows_down_every_non_control_request(sim, us):
    sim.faults(latency_ms=300)

    started = time.monotonic()
    discovery(sim, us["partner_tenant_id"])

    assert time.monotonic() - started >= 0.3


def test_an_error_rate_of_one_fails_token_requests_with_an_aadsts_body(sim, us):
    sim.faults(error_rate=1.0)

    response = discovery(sim, us["partner_tenant_id"])

    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_token_lifetime_is_configurable_per_tenant(sim, us):
    tenant = active_customer(us)["tenant_id"]
    sim.faults(tenant=tenant, token_lifetime=400)

    result = msal_app(sim, us, tenant).acquire_token_for_client(GRAPH_DEFAULT)

    assert 390 <= result["expires_in"] <= 400


def test_the_request_log_counts_monotonically_until_reset(sim, us):
    sim.reset()
    discovery(sim, us["partner_tenant_id"])
    msal_app(sim, us, us["partner_tenant_id"]).acquire_token_for_client(GRAPH_DEFAULT)

    log = sim.requests()
    sim.reset()

    assert log["counters"]["token"] == 1
    assert log["counters"]["discovery"] == 2  # ours plus MSAL's
    assert log["counters"]["graph"] == 0 and log["counters"]["partnercenter"] == 0
    last = log["requests"][-1]
    assert last == {
        "method": "POST",
        "path": f"/{us['partner_tenant_id']}/oauth2/v2.0/token",
        "tenant": us["partner_tenant_id"],
        "status": 200,
        "kind": "token",
        "caller": None,
    }
    assert sim.requests()["counters"]["token"] == 0


def test_accepting_an_invitation_activates_the_relationship_and_reset_restores_it(sim, us):
    customer = expired_customer(us)
    sim.faults(propagation_delay=0)

    answer = sim.accept_invitation(customer["tenant_id"])
    after = next(
        c for c in sim.info()["regions"][0]["customers"] if c["tenant_id"] == answer["tenant_id"]
    )
    sim.reset()
    restored = next(
        c for c in sim.info()["regions"][0]["customers"] if c["tenant_id"] == answer["tenant_id"]
    )

    assert answer["relationship"]["status"] == "active"
    assert after["relationship"]["status"] == "active"
    assert restored["relationship"]["status"] == "expired"


def test_accepting_an_invitation_for_an_unknown_tenant_is_a_404(sim):
    response = sim.session.post(f"{sim.base_url}/_sim/customers/nope/accept-invitation")

    assert response.status_code == 404


def test_injected_errors_look_like_the_service_they_come_from(sim):
    sim.faults(error_rate=1.0)

    graph = sim.session.get(f"{sim.base_url}/graph/v1.0/users", timeout=5)
    partner_center = sim.session.get(f"{sim.base_url}/partnercenter/v1/customers", timeout=5)
    control = sim.session.get(f"{sim.base_url}/_sim/faults", timeout=5)

    assert graph.status_code == 503 and set(graph.json()["error"]) >= {"code", "message"}
    assert partner_center.status_code == 503 and partner_center.json()["code"] == 503
    assert control.status_code == 200


def test_command_line_flags_seed_the_world_and_the_faults():
    with Simulator(
        "--customers", "300", "--throttle", "5/10", "--latency-ms", "7", "--seed", "42",
        "--propagation-delay", "30",
    ) as other:  # fmt: skip
        info, faults = other.info(), other.faults()

    assert info["seed"] == 42
    assert len(info["regions"][1]["customers"]) == 301
    assert faults["global"]["throttle"] == {"limit": 5, "window": 10.0}
    assert faults["global"]["latency_ms"] == 7
    assert faults["global"]["propagation_delay"] == 30.0
