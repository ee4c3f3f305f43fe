"""One customer's compliance page: live Graph data as the agent, behind the isolation guard."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.compliance.test_sweep import _truth

pytestmark = pytest.mark.django_db

AGENT = "agent@contosopartners.com"


def _active(world, customers, slug="us"):
    region = next(r for r in world["regions"] if r["slug"] == slug)
    info = next(
        c for c in region["customers"] if c["relationship"]["status"] == "active" and not c["big"]
    )
    customer = next(c for c in customers[slug] if str(c.tenant_id) == info["tenant_id"])
    return region, info, customer


def _state_counts(body: str) -> dict[str, tuple[int, str]]:
    rows = re.findall(
        r'<tr data-state="(\w+)">.*?<td class="text-end">(\d+)</td>'
        r'<td class="text-end text-body-secondary">([^<]*)</td>',
        body,
        re.S,
    )
    return {state: (int(devices), summary) for state, devices, summary in rows}


def test_the_page_counts_states_like_microsoft_and_lists_the_noncompliant_devices(
    sim, sign_in, world, customers
):
    region, info, customer = _active(world, customers)
    response = sign_in(AGENT).get(f"/customers/{customer.tenant_id}/compliance/")
    assert response.status_code == 200
    body = response.content.decode()
    states, systems, summary = _truth(sim, region, info["tenant_id"])
    counts = _state_counts(body)
    assert counts["compliant"] == (states["compliant"], str(summary["compliantDeviceCount"]))
    assert counts["noncompliant"][0] == states["noncompliant"]
    assert sum(devices for devices, _ in counts.values()) == info["devices"]
    noncompliant = body[body.index('data-testid="noncompliant-table"') :]
    noncompliant = noncompliant[: noncompliant.index("</table>")]
    assert noncompliant.count("<tr>") - 1 == min(states["noncompliant"], 200)
    assert 'class="nav-link active" href="/customers/' in body and ">Compliance</a>" in body
    policies = body[body.index('data-testid="policy-table"') :]
    assert "Windows 10/11 - Baseline" in policies
    for name, count in systems.items():
        assert re.search(rf"<td>{name}</td><td class=\"text-end\">{count}</td>", body)


def test_the_page_reads_graph_in_one_batch_for_a_small_tenant(sim, sign_in, world, customers):
    _, _, customer = _active(world, customers)
    client = sign_in(AGENT)
    client.get(f"/customers/{customer.tenant_id}/compliance/")  # token warm-up
    before = sim.requests()["counters"]
    assert client.get(f"/customers/{customer.tenant_id}/compliance/").status_code == 200
    after = sim.requests()["counters"]
    assert after["graph"] - before["graph"] == 1
    assert after["token"] - before["token"] == 0


def test_the_stale_threshold_comes_from_the_query_within_bounds(sign_in, world, customers):
    _, _, customer = _active(world, customers)
    client = sign_in(AGENT)
    few = client.get(f"/customers/{customer.tenant_id}/compliance/?stale_days=1").content
    many = client.get(f"/customers/{customer.tenant_id}/compliance/?stale_days=99999").content
    stale = re.search(rb'data-testid="customer-stale">(\d+)<', few)
    none = re.search(rb'data-testid="customer-stale">(\d+)<', many)
    assert int(stale.group(1)) >= int(none.group(1))
    assert b'value="365"' in many


def test_a_customer_of_another_region_is_404_without_a_call_to_microsoft(
    sim, sign_in, world, customers
):
    _, _, eu_customer = _active(world, customers, slug="eu")
    client = sign_in(AGENT)
    before = Counter(sim.requests()["counters"])
    assert client.get(f"/customers/{eu_customer.tenant_id}/compliance/").status_code == 404
    after = Counter(sim.requests()["counters"])
    assert after["graph"] == before["graph"] and after["token"] == before["token"]


def test_the_expired_relationship_shows_microsofts_refusal_as_a_sentence(sign_in, world, customers):
    region = next(r for r in world["regions"] if r["slug"] == "us")
    info = next(c for c in region["customers"] if c["relationship"]["status"] != "active")
    customer = next(c for c in customers["us"] if str(c.tenant_id) == info["tenant_id"])
    response = sign_in(AGENT).get(f"/customers/{customer.tenant_id}/compliance/")
    assert response.status_code in (401, 403)
    assert b'data-testid="graph-problem"' in response.content


@pytest.mark.parametrize(
    ("who", "status"),
    [("norole", 403), ("agent", 200), ("manager", 200), ("admin", 200)],
)
def test_role_matrix_for_one_customers_compliance(sign_in, world, customers, who, status):
    _, _, customer = _active(world, customers)
    client = sign_in(f"{who}@contosopartners.com")
    assert client.get(f"/customers/{customer.tenant_id}/compliance/").status_code == status


def test_anonymous_visitors_of_a_customer_compliance_page_are_sent_to_sign_in(
    portal_client, own_customer
):
    customer = own_customer
    response = portal_client.get(f"/customers/{customer.tenant_id}/compliance/")
    assert response.status_code == 302 and response["Location"].startswith("/signin/")
