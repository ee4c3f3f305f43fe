"""A customer without any device: the device pages and compliance answer 200 with an empty
state, never a 502."""

from __future__ import annotations

import pytest

from tests.customers.test_pages import AGENT, _customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def deviceless(sim, world, customers):
    info, customer = _customer(world, customers)
    sim.size(info["tenant_id"], devices=0)
    yield customer
    sim.reset()


@pytest.mark.parametrize("page", ["devices", "managed-devices", "compliance"])
def test_a_customer_without_devices_shows_an_empty_page_not_a_502(sign_in, deviceless, page):
    response = sign_in(AGENT).get(f"/customers/{deviceless.tenant_id}/{page}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "No devices." in body or "No managed devices." in body or "0 of 0" in body
