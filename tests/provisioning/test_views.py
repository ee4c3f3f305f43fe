"""The provisioning pages: tenant isolation, the invitation action, starting again.

They read and write rows only, so the users and customers come from the factories; the overview
card (a Graph page) signs in through the simulator."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from customers.models import Customer, GdapRelationship
from provisioning.models import Provisioning
from provisioning.services import provisioning_start
from tests.factories import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_client(own_agent: User) -> Client:
    return client_for(own_agent)


def _started(customer: Customer) -> Customer:
    """The customer with a provisioning under way, as creating it through the form leaves it."""
    provisioning_start(customer=customer, kind=Provisioning.Kind.CREATED, requested_by="test")
    return customer


def test_another_regions_agent_sees_no_provisioning_and_cannot_start_one(
    own_customer: Customer, other_agent: User
) -> None:
    customer = _started(own_customer)
    europe = client_for(other_agent)
    base = f"/customers/{customer.tenant_id}/provisioning/"
    assert europe.get(base).status_code == 404
    assert europe.get(f"{base}status/").status_code == 404
    assert europe.post(f"{base}start/", {"reason": "invitation"}).status_code == 404
    assert customer.provisionings.count() == 1


def test_starting_needs_a_post(own_client: Client, own_customer: Customer) -> None:
    customer = own_customer
    page = own_client.get(f"/customers/{customer.tenant_id}/provisioning/start/")
    assert page.status_code == 405
    assert not Provisioning.objects.exists()


def _invited(customer: Customer, status: str = "approvalPending") -> Customer:
    """The customer with a GDAP relationship as the last sync read it."""
    GdapRelationship.objects.create(
        customer=customer, relationship_id="rel-1", status=status, synced_at=timezone.now()
    )
    return customer


def test_an_accepted_invitation_starts_the_wait_and_a_second_click_joins_it(
    own_client: Client, own_customer: Customer, settings: Any
) -> None:
    settings.PROVISIONING_WAIT_SECONDS = 180
    customer, agent = _invited(own_customer), own_client
    url = f"/customers/{customer.tenant_id}/provisioning/start/"
    confirmed = {"reason": "invitation", "confirm": "yes"}
    assert agent.post(url, confirmed).status_code == 302
    assert agent.post(url, confirmed).status_code == 302
    run = customer.provisionings.get()
    assert (run.kind, run.status, run.wait_seconds) == ("invitation", "waiting", 180)
    partial = agent.post(url, confirmed, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert b'data-status="waiting"' in partial.content
    assert customer.provisionings.count() == 1


def test_a_failed_run_can_be_started_again_without_the_initial_wait(
    own_client: Client, own_customer: Customer
) -> None:
    customer, agent = own_customer, own_client
    Provisioning.objects.create(
        customer=customer,
        kind="invitation",
        status="failed",
        wait_seconds=180,
        retry_seconds=60,
        max_attempts=5,
        attempt=5,
        last_error="Gave up.",
    )
    page = agent.get(f"/customers/{customer.tenant_id}/provisioning/")
    assert b'data-testid="provisioning-again"' in page.content
    agent.post(f"/customers/{customer.tenant_id}/provisioning/start/", {"reason": "again"})
    run = customer.provisionings.first()
    assert (run.status, run.wait_seconds, run.attempt) == ("waiting", 0, 0)
    assert customer.provisionings.count() == 2


@pytest.mark.parametrize("relationship", [None, "active", "expired"])
def test_an_invitation_start_without_a_pending_invitation_is_refused_and_changes_nothing(
    own_client: Client, own_customer: Customer, relationship: str | None
) -> None:
    customer = own_customer
    if relationship:
        _invited(customer, relationship)
    Customer.objects.filter(pk=customer.pk).update(relationship_status="active")
    url = f"/customers/{customer.tenant_id}/provisioning/start/"
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        refused = own_client.post(url, {"reason": "invitation", "confirm": "yes"}, **headers)
        assert refused.status_code == 409
        assert b"no partner invitation awaiting approval" in refused.content
    customer.refresh_from_db()
    assert customer.relationship_status == "active"
    assert not Provisioning.objects.exists()
    assert not AuditEvent.objects.filter(action="customer.invitation_accepted").exists()


@pytest.mark.parametrize("status", ["waiting", "ready", None])
def test_starting_again_is_refused_unless_the_last_provisioning_failed(
    own_client: Client, own_customer: Customer, status: str | None
) -> None:
    customer = own_customer
    if status:
        _started(customer).provisionings.update(status=status)
    before = list(customer.provisionings.values_list("pk", "status"))
    url = f"/customers/{customer.tenant_id}/provisioning/start/"
    refused = own_client.post(url, {"reason": "again"})
    assert refused.status_code == 409
    assert b"Only a failed provisioning can be started again" in refused.content
    assert list(customer.provisionings.values_list("pk", "status")) == before
    assert not AuditEvent.objects.filter(action="customer.provisioning_again").exists()


def test_the_overview_shows_the_provisioning_card(agent: Client, customers: Any) -> None:
    customer = customers["us"][0]
    page = agent.get(f"/customers/{customer.tenant_id}/")
    assert b'data-testid="provisioning-card"' in page.content
    assert b"the customer sync notices it" in page.content  # no manual "they accepted" button


def test_the_status_partial_polls_only_while_unfinished(
    own_client: Client, own_customer: Customer
) -> None:
    customer = _started(own_customer)
    url = f"/customers/{customer.tenant_id}/provisioning/status/"
    assert b'hx-trigger="every 2s"' in own_client.get(url).content
    customer.provisionings.update(status="ready")
    assert b"hx-trigger" not in own_client.get(url).content


def test_the_invitation_button_is_offered_only_while_an_invitation_awaits_approval(
    own_client: Client, own_customer: Customer, settings: Any
) -> None:
    settings.PROVISIONING_WAIT_SECONDS = 180
    page = f"/customers/{own_customer.tenant_id}/provisioning/"
    assert b'data-testid="invitation-accepted"' not in own_client.get(page).content
    _invited(own_customer, "active")
    assert b'data-testid="invitation-accepted"' not in own_client.get(page).content
    GdapRelationship.objects.filter(customer=own_customer).update(status="approvalPending")
    html = own_client.get(page).content.decode()
    assert 'data-testid="invitation-accepted"' in html
    # Behind a confirmation that says what one click starts.
    assert "<details" in html and "waits <strong>3 minutes</strong>" in html


@pytest.mark.parametrize("headers", [{}, {"HTTP_HX_REQUEST": "true"}])
def test_an_unconfirmed_invitation_start_asks_for_confirmation_and_changes_nothing(
    own_client: Client, own_customer: Customer, headers: dict[str, str]
) -> None:
    customer = _invited(own_customer)
    before = customer.relationship_status
    url = f"/customers/{customer.tenant_id}/provisioning/start/"
    answer = own_client.post(url, {"reason": "invitation"}, **headers)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'data-testid="invitation-accepted" open' in html
    assert 'name="confirm" value="yes"' in html
    assert not Provisioning.objects.exists()
    assert not AuditEvent.objects.filter(action="customer.invitation_accepted").exists()
    customer.refresh_from_db()
    assert customer.relationship_status == before
