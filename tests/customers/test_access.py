"""The access page: the agent's GDAP roles in a customer, through their partner groups, and
which pages those roles serve (the role table in customers/access.py)."""

from __future__ import annotations

from typing import Any

import pytest

from customers.models import Customer
from customers.services import customers_sync, sync_run_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(regions: dict[str, Any]) -> None:
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)


def _us(world: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in world["regions"] if r["slug"] == "us")


def _pages(html: str) -> dict[str, str]:
    """{page: "Allowed" | "Not allowed …"} from the page table."""
    result = {}
    for row in html.split('<tr data-page="')[1:]:
        page, _, rest = row.partition('"')
        result[page] = (
            "Allowed" if ">Allowed<" in rest.split("</tr>")[0] else rest.split("</tr>")[0]
        )
    return result


def test_an_agent_sees_the_roles_its_group_holds_and_every_page_allowed(sign_in, world, synced):
    customer = next(
        c
        for c in _us(world)["customers"]
        if c["relationship"]["type"] == "gdap" and c["relationship"]["status"] == "active"
    )
    page = sign_in("agent@contosopartners.com").get(f"/customers/{customer['tenant_id']}/access/")
    html = page.content.decode()

    assert page.status_code == 200
    helpdesk = next(g for g in _us(world)["groups"] if "agent@contosopartners.com" in g["members"])
    assert helpdesk["name"] in html
    for role in helpdesk["roles_by_customer"][customer["tenant_id"]]:
        assert role in html
    assert set(_pages(html).values()) == {"Allowed"}


def test_an_agent_without_an_intune_role_is_told_which_role_the_intune_pages_need(
    sign_in, world, synced, sim
):
    us = _us(world)
    l1 = next(a["username"] for a in world["agents"] if a["username"].startswith("l1@"))
    l1_group = next(g for g in us["groups"] if l1 in g["members"])
    tenant = next(iter(l1_group["roles_by_customer"]))
    assert "Intune Administrator" not in l1_group["roles_by_customer"][tenant]

    html = sign_in(l1).get(f"/customers/{tenant}/access/").content.decode()

    pages = _pages(html)
    assert pages["users"] == "Allowed"
    assert "Not allowed" in pages["managed-devices"]
    assert "needs Intune Administrator or Global Reader" in pages["compliance"]


def test_a_dap_only_customer_says_the_portal_cannot_tell_in_advance(sign_in, world, synced):
    dap = next(c for c in _us(world)["customers"] if c["relationship"]["type"] == "dap")
    html = sign_in("agent@contosopartners.com").get(f"/customers/{dap['tenant_id']}/access/")
    body = html.content.decode()

    assert "DAP only" in body and "AdminAgents" in body
    assert 'data-testid="access-pages"' not in body


def test_the_agents_groups_are_read_once_per_session_not_per_page(sign_in, world, synced, sim):
    customer = Customer.objects.filter(region__slug="us", relationship_type="gdap").first()
    client = sign_in("agent@contosopartners.com")
    client.get(f"/customers/{customer.tenant_id}/access/")
    before = sim.requests()["counters"]["graph"]

    client.get(f"/customers/{customer.tenant_id}/access/")

    assert sim.requests()["counters"]["graph"] == before


def test_an_intune_page_the_agents_roles_cannot_serve_is_refused_naming_the_role_before_graph(
    sign_in, world, synced, sim
):
    us = _us(world)
    l1 = next(a["username"] for a in world["agents"] if a["username"].startswith("l1@"))
    tenant = next(iter(next(g for g in us["groups"] if l1 in g["members"])["roles_by_customer"]))
    client = sign_in(l1)
    client.get(f"/customers/{tenant}/access/")  # the agent's groups are read (and cached)
    before = [r for r in sim.requests()["requests"] if r["tenant"] == tenant]

    page = client.get(f"/customers/{tenant}/managed-devices/")

    assert page.status_code == 403
    assert "needs Intune Administrator or Global Reader" in page.content.decode()
    assert [r for r in sim.requests()["requests"] if r["tenant"] == tenant] == before
    assert client.get(f"/customers/{tenant}/users/").status_code == 200


def test_an_agent_whose_group_holds_the_intune_role_opens_the_intune_page(sign_in, world, synced):
    us = _us(world)
    l1 = next(a["username"] for a in world["agents"] if a["username"].startswith("l1@"))
    tenant = next(iter(next(g for g in us["groups"] if l1 in g["members"])["roles_by_customer"]))

    page = sign_in("agent@contosopartners.com").get(f"/customers/{tenant}/managed-devices/")

    assert page.status_code == 200
