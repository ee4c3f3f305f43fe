"""The customer sync records whether the app works app-only in each customer (consent drift),
shown on the customer, its access page and the compliance dashboard."""

from __future__ import annotations

from typing import Any

import pytest

from customers.models import ConsentState, Customer, RelationshipStatus
from regions.clients import app_token_drop
from tests.factories import consent_checks_aged, customers_synced

pytestmark = pytest.mark.django_db


def _gdap(world: dict[str, Any]) -> str:
    us = next(r for r in world["regions"] if r["slug"] == "us")
    return next(
        c["tenant_id"]
        for c in us["customers"][1:]
        if c["relationship"]["type"] == "gdap" and c["relationship"]["status"] == "active"
    )


def _consent_checked(sim, region, do) -> set[str]:
    """The customers whose consent `do` checked: a token asked for in the customer's tenant
    (refused where there is no consent) or a Graph $batch there."""
    partner = str(region.partner_tenant_id).lower()
    before = len(sim.requests()["requests"])
    do()
    return {
        r["tenant"]
        for r in sim.requests()["requests"][before:]
        if r["tenant"] != partner
        and (r["kind"] == "token" or (r["kind"] == "graph" and r["path"].endswith("/$batch")))
    }


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


def test_consent_removed_in_the_tenant_is_found_by_the_next_check_and_shown_with_its_date(
    sim, world, regions, sign_in
):
    # Tokens shorter-lived than MSAL's 5-minute margin are never reused: every check asks
    # Entra, as every check does once the cached token's lifetime is over.
    sim.faults(token_lifetime=240)
    tenant = _gdap(world)
    customers_synced(regions["us"])
    sim.consent(tenant, consented=False)
    consent_checks_aged(regions["us"])  # the consent checks are due again

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
    consent_checks_aged(regions["us"])
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


def test_a_sync_soon_after_another_checks_again_only_customers_without_working_consent(
    sim, world, regions
):
    region = regions["us"]
    lacking = _gdap(world)
    sim.consent(lacking, consented=False)
    first = _consent_checked(sim, region, lambda: customers_synced(region))
    active = {
        str(c.tenant_id)
        for c in Customer.objects.filter(region=region, relationship_status="active")
    }
    assert first == active
    assert Customer.objects.get(tenant_id=lacking).consent_state == ConsentState.NOT_CONSENTED

    sim.consent(lacking, consented=True)  # an admin consented meanwhile
    # MSAL remembers the tenant's refusal for a minute; syncs are 15 minutes apart.
    app_token_drop(region=region, tenant_id=lacking)
    again = _consent_checked(sim, region, lambda: customers_synced(region))

    assert again == {lacking}
    assert Customer.objects.get(tenant_id=lacking).consent_state == ConsentState.CONSENTED
    kept = Customer.objects.filter(region=region, relationship_status="active").exclude(
        tenant_id=lacking
    )
    assert {c.consent_state for c in kept} == {ConsentState.CONSENTED}


def test_every_working_consent_is_checked_again_once_its_check_is_older_than_the_interval(
    sim, world, regions
):
    region = regions["us"]
    customers_synced(region)
    consent_checks_aged(region)
    active = {
        str(c.tenant_id)
        for c in Customer.objects.filter(region=region, relationship_status="active")
    }
    assert _consent_checked(sim, region, lambda: customers_synced(region)) == active


def test_the_recheck_spreads_a_big_books_checks_over_several_syncs():
    from customers.services import _recheck_spread

    tenants = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(2000)]
    spreads = [_recheck_spread(t) for t in tenants]
    assert min(spreads) >= 0.75 and max(spreads) < 1.25
    # With an hour's interval and a sync every 15 minutes, the checks made at one sync fall
    # due at the syncs 60 and 75 minutes on, about half at each, not all at one of them.
    due = [int(s * 3600 // 900) + 1 for s in spreads]
    shares = {k: due.count(k) / len(due) for k in set(due)}
    assert set(shares) == {4, 5} and max(shares.values()) < 0.6
    assert [_recheck_spread(t) for t in tenants[:5]] == spreads[:5]  # fixed per tenant
