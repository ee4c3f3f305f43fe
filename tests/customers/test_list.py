import uuid

import pytest

from customers.models import Customer

pytestmark = pytest.mark.django_db


def test_the_list_searches_by_name_and_by_domain(sign_in, customers):
    client = sign_in("agent@contosopartners.com")
    target = next(c for c in customers["us"] if "'" not in c.name)
    by_name = client.get("/customers/", {"q": target.name.split()[0]}).content.decode()
    assert target.name in by_name
    by_domain = client.get("/customers/", {"q": target.default_domain[:8]}).content.decode()
    assert target.name in by_domain
    none = client.get("/customers/", {"q": "zzz-no-such-customer"}).content.decode()
    assert "No customer matches" in none


def test_the_list_pages_by_25(sign_in, regions):
    Customer.objects.bulk_create(
        Customer(region=regions["us"], tenant_id=uuid.uuid4(), name=f"Customer {i:03}")
        for i in range(60)
    )
    client = sign_in("agent@contosopartners.com")
    first = client.get("/customers/").content.decode()
    assert "Customer 000" in first and "Customer 025" not in first
    third = client.get("/customers/", {"page": 3}).content.decode()
    assert "Customer 050" in third and "Page 3 of 3" in third
    assert client.get("/customers/", {"page": "junk"}).status_code == 200


def test_customer_names_are_escaped(sign_in, regions):
    Customer.objects.create(
        region=regions["us"], tenant_id=uuid.uuid4(), name="<script>alert(1)</script> Ltd"
    )
    body = sign_in("agent@contosopartners.com").get("/customers/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ltd" in body
