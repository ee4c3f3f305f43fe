import uuid

import pytest

from customers.models import Customer
from tests.factories import client_for, customer_make

pytestmark = pytest.mark.django_db


def test_the_list_searches_by_name_and_by_domain(own_agent, own_region):
    target = customer_make(
        region=own_region, name="Northwind Traders", default_domain="nwtraders.onmicrosoft.com"
    )
    other = customer_make(
        region=own_region, name="Fabrikam Inc", default_domain="fabrikam.onmicrosoft.com"
    )
    client = client_for(own_agent)
    by_name = client.get("/customers/", {"q": target.name.split()[0]}).content.decode()
    assert target.name in by_name
    assert other.name not in by_name
    by_domain = client.get("/customers/", {"q": target.default_domain[:8]}).content.decode()
    assert target.name in by_domain
    assert other.name not in by_domain
    none = client.get("/customers/", {"q": "zzz-no-such-customer"}).content.decode()
    assert "No customer matches" in none


def test_the_list_pages_by_25(own_agent, own_region):
    Customer.objects.bulk_create(
        Customer(region=own_region, tenant_id=uuid.uuid4(), name=f"Customer {i:03}")
        for i in range(60)
    )
    client = client_for(own_agent)
    first = client.get("/customers/").content.decode()
    assert "Customer 000" in first and "Customer 025" not in first
    third = client.get("/customers/", {"page": 3}).content.decode()
    assert "Customer 050" in third and "Page 3 of 3" in third
    assert client.get("/customers/", {"page": "junk"}).status_code == 200


def test_customer_names_are_escaped(own_agent, own_region):
    customer_make(region=own_region, name="<script>alert(1)</script> Ltd")
    body = client_for(own_agent).get("/customers/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ltd" in body
