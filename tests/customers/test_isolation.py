"""The tenant-isolation guard: outside the agent's region, unknown or malformed → 404,
before a single token or Graph request reaches Microsoft."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import client_for

pytestmark = pytest.mark.django_db

PAGES = ["", "users/", "groups/", "devices/", "managed-devices/"]


def _counters(sim):
    counters = sim.requests()["counters"]
    return counters.get("token", 0), counters.get("graph", 0)


@pytest.mark.parametrize("page", PAGES)
def test_an_agent_cannot_open_a_customer_of_another_region(sim, sign_in, customers, page):
    client = sign_in("agent@contosopartners.com")
    eu_customer = customers["eu"][0]
    before = _counters(sim)
    response = client.get(f"/customers/{eu_customer.tenant_id}/{page}")
    assert response.status_code == 404
    assert _counters(sim) == before


def test_a_group_page_of_another_region_is_404_without_requests(sim, sign_in, customers):
    client = sign_in("agent@contosopartners.eu")
    us_customer = customers["us"][0]
    before = _counters(sim)
    response = client.get(f"/customers/{us_customer.tenant_id}/groups/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert _counters(sim) == before


@pytest.mark.parametrize(
    "tenant",
    [
        "not-a-guid",
        "{0c4f2a4e-1111-4e11-8e11-111111111111}",
        "0C4F2A4E-1111-4E11-8E11-111111111111",
        "0c4f2a4e11114e118e11111111111111",
        "contoso.onmicrosoft.com",
        "..%2F..%2Fgraph",
        str(uuid.uuid4()),
    ],
)
def test_unknown_or_malformed_tenant_ids_are_404_without_requests(sim, sign_in, customers, tenant):
    client = sign_in("agent@contosopartners.com")
    before = _counters(sim)
    response = client.get(f"/customers/{tenant}/users/")
    assert response.status_code == 404
    assert _counters(sim) == before


def test_an_upper_case_id_of_an_own_customer_is_still_404(sim, sign_in, customers):
    client = sign_in("agent@contosopartners.com")
    tid = str(customers["us"][0].tenant_id).upper()
    before = _counters(sim)
    assert client.get(f"/customers/{tid}/").status_code == 404
    assert _counters(sim) == before


def test_the_customer_list_shows_only_the_agents_region(other_agent, own_customer, other_customer):
    body = client_for(other_agent).get("/customers/").content.decode()
    assert str(other_customer.tenant_id) in body
    assert str(own_customer.tenant_id) not in body


def test_anonymous_visitors_are_sent_to_sign_in_without_requests(sim, portal_client, customers):
    before = _counters(sim)
    response = portal_client.get(f"/customers/{customers['us'][0].tenant_id}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")
    assert _counters(sim) == before


def test_an_agent_without_a_role_gets_no_access_without_requests(sim, sign_in, customers):
    client = sign_in("norole@contosopartners.com")
    before = _counters(sim)
    assert client.get(f"/customers/{customers['us'][0].tenant_id}/").status_code == 403
    assert _counters(sim) == before
