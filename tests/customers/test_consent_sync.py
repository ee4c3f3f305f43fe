"""The customer sync records whether the app works app-only in each customer (consent drift),
shown on the customer, its access page and the compliance dashboard."""

from __future__ import annotations

from typing import Any

import pytest

from customers.models import ConsentState, Customer, RelationshipStatus
from tests.factories import customers_synced

pytestmark = pytest.mark.django_db


def _gdap(world: dict[str, Any]) -> str:
    us = next(r for r in world["regions"] if r["slug"] == "us")
    return next(
        c["tenant_id"]
        for c in us["customers"][1:]
        if c["relationship"]["type"] == "gdap" and c["relationship"]["status"] == "active"
    )


def test_the_sync_records_per_active_customer_that_client_credentials_work_and_their_roles(
    world, regions
):
    customers_synced(regions["us"])

    active = Customer.objects.filter(
        region=regions["us"], relationship_status=RelationshipStatus.ACTIVE
    )
    assert active.exists()
    for customer in active:
        assert customer.consent_state == ConsentState.CONSENTED, customer.name
        assert "Directory.Read.All" in customer.consent_app_roles
        assert customer.consent_checked_at is not None and customer.consent_lost_at is None
    expired = Customer.objects.filter(region=regions["us"], relationship_status="expired")
    assert {c.consent_state for c in expired} == {ConsentState.UNKNOWN}


def test_consent_removed_in_the_tenant_is_found_by_the_next_sync_and_shown_with_its_date(
    sim, world, regions, sign_in
):
    # Tokens shorter-lived than MSAL's 5-minute margin are never reused: every check asks
    # Entra, as every check does once the cached token's lifetime is over.
    sim.faults(token_lifetime=240)
    tenant = _gdap(world)
    customers_synced(regions["us"])
    sim.consent(tenant, consented=False)

    customers_synced(regions["us"])

    customer = Customer.objects.get(tenant_id=tenant)
    assert customer.consent_state == ConsentState.NOT_CONSENTED
    assert customer.consent_lost_at is not None
    lost_on = f"consent lost on {customer.consent_lost_at:%Y-%m-%d}"
    client = sign_in("manager@contosopartners.com")
    overview = client.get(f"/customers/{tenant}/").content.decode()
    # Agents cannot reach it either (65001): said as "not consented", with the fix linked.
    assert lost_on in overview and "not consented" in overview
    assert 'data-testid="consent-link"' in overview
    access = client.get(f"/customers/{tenant}/access/").content.decode()
    assert lost_on in access and 'data-testid="consent-who"' in access
    board = client.get("/compliance/").content.decode()
    assert 'data-testid="total-consent-lost">1 consent lost' in board


def test_a_customer_with_consent_but_without_app_roles_is_told_apart(sim, world, regions):
    sim.faults(token_lifetime=240)
    tenant = _gdap(world)
    sim.consent(tenant, consented=True, scopes=["Directory.Read.All"], app_roles=[])

    customers_synced(regions["us"])

    customer = Customer.objects.get(tenant_id=tenant)
    assert customer.consent_state == ConsentState.NO_APP_ROLES
    assert customer.consent_app_roles == []


def test_the_consent_check_costs_one_graph_batch_per_active_customer_and_no_token_while_tokens_live(
    sim, world, regions, monkeypatch
):
    customers_synced(regions["us"])  # tokens are now cached per tenant for their lifetime
    before = sim.requests()["counters"]
    customers_synced(regions["us"])
    between = sim.requests()["counters"]
    # Against a sync without the consent check: Graph's service principal and the app's
    # appRoleAssignments per active customer, both in one $batch (one Graph request), and no
    # token while the cached ones live.
    from customers import services

    monkeypatch.setattr(services, "_read_consent", lambda *args, **kwargs: None)
    customers_synced(regions["us"])
    after = sim.requests()["counters"]

    active = Customer.objects.filter(
        region=regions["us"], relationship_status=RelationshipStatus.ACTIVE
    ).count()
    checked = between["graph"] - before["graph"]
    assert checked - (after["graph"] - between["graph"]) == active
    assert between["token"] - before["token"] == after["token"] - between["token"]


def test_consent_and_app_roles_are_told_from_graph_even_when_access_tokens_are_opaque(
    sim, world, regions
):
    """Access tokens are opaque to clients: which app roles the app holds is asked of Graph
    (appRoleAssignments), so a token the portal cannot read changes nothing.
    # Reference: https://learn.microsoft.com/entra/identity-platform/access-tokens
    # Reference: https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments
    """
    sim.faults(opaque_access_tokens=True, token_lifetime=240)
    tenant = _gdap(world)
    sim.consent(tenant, consented=True, scopes=["Directory.Read.All"], app_roles=[])

    customers_synced(regions["us"])

    assert Customer.objects.get(tenant_id=tenant).consent_state == ConsentState.NO_APP_ROLES
    others = Customer.objects.filter(region=regions["us"], relationship_status="active").exclude(
        tenant_id=tenant
    )
    assert {c.consent_state for c in others} == {ConsentState.CONSENTED}
    assert all("Directory.Read.All" in c.consent_app_roles for c in others)
