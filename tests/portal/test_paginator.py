import uuid

import pytest
from django.core.paginator import Paginator

from customers.models import ConsentState, Customer
from customers.selectors import customer_list
from portal.paginator import DeferredJoinPaginator
from tests.factories import client_for

pytestmark = pytest.mark.django_db

STATES = [ConsentState.CONSENTED, ConsentState.NOT_CONSENTED, ConsentState.UNKNOWN]


@pytest.fixture
def customers(own_region, other_region):
    for region in (own_region, other_region):
        Customer.objects.bulk_create(
            Customer(
                region=region,
                tenant_id=uuid.uuid4(),
                name=f"Customer {i % 17:02}",  # repeated names: the tiebreak decides
                consent_state=STATES[i % 3],
            )
            for i in range(83)
        )


@pytest.mark.parametrize(
    "order",
    [["name", "tenant_id"], ["consent_state", "name", "tenant_id"], ["-name", "tenant_id"]],
)
def test_every_page_is_the_page_djangos_paginator_gives(customers, own_agent, order):
    queryset = customer_list(user=own_agent, order=order)
    plain, deferred = Paginator(queryset, 25), DeferredJoinPaginator(queryset, 25)
    assert deferred.count == plain.count == 83
    for number in plain.page_range:
        ours, theirs = deferred.get_page(number), plain.get_page(number)
        assert [c.pk for c in ours] == [c.pk for c in theirs]
        assert (ours.start_index(), ours.end_index()) == (theirs.start_index(), theirs.end_index())
    assert [c.pk for c in deferred.get_page(99)] == [c.pk for c in plain.get_page(99)]


def test_a_deep_page_shows_only_the_users_region(customers, own_agent, own_region):
    response = client_for(own_agent).get("/customers/", {"page": 4})
    page = response.context["page"]
    assert len(page) == 8
    assert {c.region_id for c in page} == {own_region.pk}
    assert "76\u201383 of 83" in response.content.decode()  # the position line, en dash
