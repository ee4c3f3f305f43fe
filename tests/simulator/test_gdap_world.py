"""The GDAP world in /_sim/: the seeded mix per region, and the controls that change it."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from simulator import gdap
from simulator.world import World
from tests.simharness import Simulator


def customers_by_type(region: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {}
    for c in region["customers"]:
        result.setdefault(c["relationship"]["type"], []).append(c)
    return result


def post(sim: Simulator, path: str, body: Any) -> requests.Response:
    return sim.session.post(f"{sim.base_url}{path}", json=body, timeout=10)


def test_every_region_mixes_every_relationship_case(world):
    for region in world["regions"]:
        kinds = customers_by_type(region)
        assert {"gdap", "dap", "gdap+dap", "mlt"} <= set(kinds), region["slug"]
        assert len(kinds["dap"]) == 1
        [expired] = [c for c in region["customers"] if c["relationship"]["status"] == "expired"]
        assert expired["relationship"]["type"] == "gdap"
        for c in region["customers"]:
            assert c["app_consent"]["consented"] is True and c["app_consent"]["scopes"]
            assert bool(c["relationship"]["end"]) == (c["relationship"]["type"] != "dap")
        assert "Intune Administrator" in kinds["gdap"][0]["relationship"]["roles"]
        assert kinds["mlt"][0]["relationship"]["roles"] == list(gdap.MLT_ROLES)


def test_agents_carry_their_groups_and_groups_their_roles_per_customer(world, us):
    groups = {g["name"]: g for g in us["groups"]}
    assert set(groups) == {"Helpdesk agents", "L1 no Intune", "Portal admins"}
    us_agents = [a for a in world["agents"] if a["region"] == "us"]
    for a in us_agents:
        expected = ["L1 no Intune"] if a["username"].startswith("l1@") else ["Helpdesk agents"]
        if {"Portal.Admin", "Portal.GlobalAdmin"} & set(a["roles"]):
            expected.append("Portal admins")
        assert a["groups"] == expected, a["username"]
    admin_roles = groups["Portal admins"]["roles_by_customer"]
    gdap_customer = customers_by_type(us)["gdap"][0]["tenant_id"]
    assert {"Cloud Application Administrator", "Privileged Role Administrator"} <= set(
        admin_roles[gdap_customer]
    )
    [l1_customer] = groups["L1 no Intune"]["roles_by_customer"].values()
    assert "Intune Administrator" not in l1_customer
    helpdesk = groups["Helpdesk agents"]["roles_by_customer"]
    kinds = {c["tenant_id"]: c["relationship"]["type"] for c in us["customers"]}
    for tenant, roles in helpdesk.items():
        # An MLT relationship has no Intune role, so its assignment cannot carry one.
        assert ("Intune Administrator" in roles) == (kinds[tenant] != "mlt"), tenant
    dap = customers_by_type(us)["dap"][0]
    assert dap["tenant_id"] not in helpdesk


def test_the_existing_agents_keep_their_names_and_roles(world):
    roles = {a["username"]: a["roles"] for a in world["agents"]}
    assert roles["agent@contosopartners.com"] == ["Portal.Agent"]
    assert roles["manager@contosopartners.com"] == ["Portal.Manager"]
    assert roles["admin@contosopartners.com"] == ["Portal.Admin"]
    assert roles["norole@contosopartners.com"] == []
    assert roles["l1@contosopartners.com"] == ["Portal.Agent"]


def test_the_gdap_world_is_deterministic_from_the_seed():
    def shape(world: World) -> list[tuple]:
        return [
            (t.id, t.relationship_type, [(r.id, r.roles, r.auto_extend) for r in t.relationships])
            for t in world.tenants.values()
        ]

    assert shape(World.build(seed=3)) == shape(World.build(seed=3))
    assert shape(World.build(seed=3)) != shape(World.build(seed=4))


def test_the_consent_control_answers_the_new_state_and_reset_restores_it(sim, us):
    tenant = us["customers"][0]["tenant_id"]
    answer = sim.consent(tenant, consented=False)
    assert answer["app_consent"] == {"consented": False, "scopes": [], "app_roles": []}
    after = next(c for c in sim.info()["regions"][0]["customers"] if c["tenant_id"] == tenant)
    assert after["app_consent"]["consented"] is False
    sim.reset()
    restored = next(c for c in sim.info()["regions"][0]["customers"] if c["tenant_id"] == tenant)
    assert restored["app_consent"]["consented"] is True


def test_the_relationship_control_changes_roles_status_and_type(sim, us):
    tenant = us["customers"][0]["tenant_id"]
    answer = sim.relationship(tenant, roles=["Directory Readers"], status="expired")
    assert answer["relationship"]["roles"] == ["Directory Readers"]
    assert answer["relationship"]["status"] == "expired"
    region = sim.info()["regions"][0]
    for group in region["groups"]:
        assert group["roles_by_customer"].get(tenant, ["Directory Readers"]) == [
            "Directory Readers"
        ]
    dap = sim.relationship(tenant, type="dap", status="active")["relationship"]
    assert dap == {**dap, "type": "dap", "status": "active", "roles": []}
    sim.reset()
    restored = next(c for c in sim.info()["regions"][0]["customers"] if c["tenant_id"] == tenant)
    assert restored["relationship"]["type"] == "gdap"
    assert "Intune Administrator" in restored["relationship"]["roles"]


def test_the_agent_groups_control_moves_an_agent(sim):
    answer = sim.agent_groups("agent@contosopartners.com", ["L1 no Intune"])
    assert answer["groups"] == ["L1 no Intune"]
    region = sim.info()["regions"][0]
    members = {g["name"]: g["members"] for g in region["groups"]}
    assert "agent@contosopartners.com" in members["L1 no Intune"]
    assert "agent@contosopartners.com" not in members["Helpdesk agents"]
    sim.reset()
    agent = next(a for a in sim.info()["agents"] if a["username"] == "agent@contosopartners.com")
    assert agent["groups"] == ["Helpdesk agents"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/_sim/customers/{tenant}/relationship", {"roles": ["Chief Happiness Officer"]}, 400),
        ("/_sim/customers/{tenant}/relationship", {"type": "reseller"}, 400),
        ("/_sim/customers/{tenant}/consent", {"consented": "no"}, 400),
        ("/_sim/customers/00000000-0000-0000-0000-000000000000/consent", {"consented": True}, 404),
        ("/_sim/agents/agent@contosopartners.com/groups", {"groups": ["Nobody"]}, 400),
        ("/_sim/agents/ghost@contosopartners.com/groups", {"groups": []}, 404),
    ],
)
def test_the_controls_refuse_what_they_do_not_know(sim, us, path, body, status):
    response = post(sim, path.format(tenant=us["customers"][0]["tenant_id"]), body)
    assert response.status_code == status, response.text


def test_the_default_roles_of_created_customers_are_configurable(sim):
    assert sim._call("GET", "/_sim/gdap/default-roles")["roles"] == list(gdap.CREATE_DEFAULT_ROLES)
    changed = sim._call("POST", "/_sim/gdap/default-roles", {"roles": ["Directory Readers"]})
    assert changed == {"roles": ["Directory Readers"]}
    sim.reset()
    assert sim._call("GET", "/_sim/gdap/default-roles")["roles"] == list(gdap.CREATE_DEFAULT_ROLES)
