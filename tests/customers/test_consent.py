""" "Consent the app" against the simulator: Partner Center's application consent, the app's
roles in the customer, client credentials proven; and every refusal explained."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from audit.models import AuditEvent
from compliance.models import CustomerCompliance
from compliance.services import compliance_sweep, sweep_start
from customers.consent import ConsentKind, Wait, consent_customer
from customers.models import ConsentState, Customer
from customers.services import customers_sync, sync_run_start
from regions.clients import graph_as_agent, partner_center_as_agent
from tests.simharness import SimulatorError

pytestmark = pytest.mark.django_db

ADMIN = "admin@contosopartners.com"
ASSIGN = "/appRoleAssignedTo"


def _us(world: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in world["regions"] if r["slug"] == "us")


def _gdap_customer(world: dict[str, Any], index: int = 0) -> dict[str, Any]:
    """An active GDAP-only customer of region us (not the one the L1 group is assigned)."""
    found = [
        c
        for c in _us(world)["customers"][1:]
        if c["relationship"]["type"] == "gdap" and c["relationship"]["status"] == "active"
    ]
    return found[index]


@pytest.fixture
def unconsented(sim, world, customers) -> Customer:
    """A GDAP customer whose app consent was removed in the tenant, propagating in 1 s."""
    info = _gdap_customer(world)
    sim.consent(info["tenant_id"], consented=False)
    sim.faults(propagation_delay=1)
    return Customer.objects.get(tenant_id=info["tenant_id"])


def _counters(sim) -> dict[str, int]:
    return dict(sim.requests()["counters"])


def _since(sim, before: dict[str, int]) -> dict[str, int]:
    after = _counters(sim)
    return {k: after.get(k, 0) - before.get(k, 0) for k in ("token", "graph", "partnercenter")}


def _consent(client, customer: Customer, **data: str):
    return client.post(
        f"/customers/{customer.tenant_id}/access/consent/", {"confirm": "yes", **data}, follow=True
    )


def test_an_unconsented_gdap_customer_becomes_sweepable_after_consent_the_app_with_no_other_step(
    sim, world, unconsented, sign_in
):
    region = _us(world)
    with pytest.raises(SimulatorError, match=r"700016|7000229"):
        sim.app_token(region, str(unconsented.tenant_id))  # Entra: no service principal
    client = sign_in(ADMIN)

    page = _consent(client, unconsented)

    html = page.content.decode()
    assert page.status_code == 200, html[:2000]
    assert 'data-testid="consent-result" data-kind="consented"' in html, html[:3000]
    unconsented.refresh_from_db()
    assert unconsented.consent_state == ConsentState.CONSENTED
    assert "DeviceManagementManagedDevices.Read.All" in unconsented.consent_app_roles
    assert "AppRoleAssignment.ReadWrite.All" in unconsented.consent_scopes
    # Partner Center was asked once, with the region's scopes: the tenant holds exactly them.
    consent_posts = [
        r
        for r in sim.requests()["requests"]
        if r["method"] == "POST" and r["path"].endswith("/applicationconsents")
    ]
    assert [r["status"] for r in consent_posts] == [201]
    sent = consent_posts[0]["body"]
    assert sent["applicationId"] == region["app"]["client_id"]
    assert set(sent["applicationGrants"][0]["scope"].split(",")) == set(
        unconsented.region.consent_scopes
    )
    state = next(
        c for c in _us(sim.info())["customers"] if c["tenant_id"] == str(unconsented.tenant_id)
    )["app_consent"]
    assert set(state["scopes"]) == set(unconsented.region.consent_scopes)
    assert set(state["app_roles"]) == set(unconsented.region.customer_app_roles)
    # No other step: the next sweep reaches the customer with app-only tokens.
    sweep, _ = sweep_start(requested_by="test")
    compliance_sweep(sweep_id=sweep.pk)
    assert CustomerCompliance.objects.get(customer=unconsented).last_ok is True
    event = AuditEvent.objects.filter(action="customer.app_consent").latest("pk")
    assert event.detail["outcome"] == "consented"
    assert event.detail["changed"]["consent_state"][1] == "consented"


def test_consenting_a_consented_customer_again_succeeds_without_assigning_a_role_twice(
    sim, world, unconsented, sign_in
):
    client = sign_in(ADMIN)
    assert "consented" in _consent(client, unconsented).content.decode()
    first = sum(1 for r in sim.requests()["requests"] if r["path"].endswith(ASSIGN))

    again = _consent(client, unconsented).content.decode()

    assert 'data-kind="consented"' in again
    assert sum(1 for r in sim.requests()["requests"] if r["path"].endswith(ASSIGN)) == first
    assert first == len(unconsented.region.customer_app_roles)


def test_an_agent_who_is_not_an_admin_gets_a_403_page_and_nothing_is_called(
    sim, world, unconsented, sign_in
):
    client = sign_in("manager@contosopartners.com")
    before = _counters(sim)

    page = client.post(f"/customers/{unconsented.tenant_id}/access/consent/", {"confirm": "yes"})

    assert page.status_code == 403
    assert _since(sim, before) == {"token": 0, "graph": 0, "partnercenter": 0}


def test_an_admin_of_another_region_gets_404_before_any_token_or_call(
    sim, world, unconsented, sign_in
):
    client = sign_in("admin@contosopartners.eu")
    before = _counters(sim)

    page = client.post(f"/customers/{unconsented.tenant_id}/access/consent/", {"confirm": "yes"})

    assert page.status_code == 404
    assert _since(sim, before) == {"token": 0, "graph": 0, "partnercenter": 0}
    unconsented.refresh_from_db()
    assert unconsented.consent_state == ConsentState.UNKNOWN


def test_consent_without_the_ticked_confirmation_explains_itself_and_calls_nobody(
    sim, world, unconsented, sign_in
):
    client = sign_in(ADMIN)
    before = _counters(sim)

    page = client.post(f"/customers/{unconsented.tenant_id}/access/consent/")

    assert page.status_code == 400
    assert "Tick the confirmation" in page.content.decode()
    assert _since(sim, before)["partnercenter"] == 0


def test_an_admin_without_privileged_role_administrator_is_told_that_role_by_graph(
    sim, world, unconsented, sign_in
):
    # The relationship loses Privileged Role Administrator: the admins' group keeps Cloud
    # Application Administrator, which Partner Center's consent accepts, but Graph's app
    # roles need the other. Not synced, so the portal cannot tell in advance: Graph decides.
    info = _gdap_customer(world)
    roles = [r for r in info["relationship"]["roles"] if r != "Privileged Role Administrator"]
    sim.relationship(info["tenant_id"], roles=roles)
    client = sign_in(ADMIN)

    html = _consent(client, unconsented).content.decode()

    assert 'data-kind="missing_role"' in html, html.split('data-testid="consent-card"')[-1][:900]
    assert "Privileged Role Administrator" in html
    assert any(
        r["path"].endswith(ASSIGN) and r["status"] == 403 for r in sim.requests()["requests"]
    )
    unconsented.refresh_from_db()
    assert unconsented.consent_state == ConsentState.NO_APP_ROLES


def test_partner_center_refusing_an_admin_without_a_consent_role_there_says_what_it_needs(
    sim, world, unconsented, sign_in
):
    # Only the helpdesk group: in AdminAgents, but no consent role in the customer.
    sim.agent_groups(ADMIN, ["Helpdesk agents"])
    client = sign_in(ADMIN)

    html = _consent(client, unconsented).content.decode()

    assert 'data-kind="partner_center_refused"' in html
    assert "AdminAgents" in html and "Cloud Application Administrator" in html
    unconsented.refresh_from_db()
    assert unconsented.consent_state == ConsentState.UNKNOWN


def test_where_the_synced_assignments_tell_the_missing_role_is_named_before_any_call(
    sim, world, unconsented, sign_in
):
    sim.agent_groups(ADMIN, ["Helpdesk agents"])
    run, _ = sync_run_start(region=unconsented.region)
    customers_sync(run_id=run.pk)
    client = sign_in(ADMIN)
    access = client.get(f"/customers/{unconsented.tenant_id}/access/").content.decode()
    assert 'data-testid="consent-role-missing"' in access
    before = _counters(sim)

    html = _consent(client, unconsented).content.decode()

    assert 'data-kind="missing_role"' in html
    assert "Privileged Role Administrator" in html
    # The agent's groups were read with the access page (cached): nothing else is asked.
    assert _since(sim, before) == {"token": 0, "graph": 0, "partnercenter": 0}


def test_a_customer_without_an_active_relationship_is_refused_without_a_call(
    sim, world, customers, sign_in
):
    expired = next(c for c in customers["us"] if c.relationship_status == "expired")
    client = sign_in(ADMIN)
    before = _counters(sim)

    html = _consent(client, expired).content.decode()

    assert 'data-kind="no_relationship"' in html
    assert _since(sim, before)["partnercenter"] == 0


def test_a_consent_that_has_not_reached_the_tenant_says_to_come_back_not_to_wait_forever(
    sim, world, unconsented, sign_in
):
    sim.faults(propagation_delay=120)
    client = sign_in(ADMIN)
    region = unconsented.region

    outcome = consent_customer(
        region=region,
        customer=unconsented,
        graph_for=lambda tid: graph_as_agent(
            session=client.session, region=region, tenant_id=tid, fresh=True
        ),
        partner_center=partner_center_as_agent(session=client.session, region=region),
        actor=ADMIN,
        wait=Wait(1.0, 0.2, 0.4),
    )

    assert outcome.kind == ConsentKind.NOT_PROPAGATED
    assert outcome.retry_later and "again in a few minutes" in outcome.message
    unconsented.refresh_from_db()
    assert unconsented.consent_state == ConsentState.NOT_CONSENTED


def test_the_app_token_endpoint_refuses_an_app_only_partner_center_consent(sim, world, regions):
    # Partner Center's application consent takes App+User tokens only (REFERENCE.md).
    region = _us(world)
    token = sim.app_token(
        region, region["partner_tenant_id"], "https://api.partnercenter.microsoft.com"
    )
    tenant = _gdap_customer(world)["tenant_id"]
    answer = sim.new_session().post(
        f"{sim.base_url}/partnercenter/v1/customers/{tenant}/applicationconsents",
        json={"applicationId": region["app"]["client_id"], "applicationGrants": []},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code in (401, 403), answer.text


def test_an_old_consent_without_the_scopes_to_assign_roles_is_replaced_and_then_works(
    sim, world, customers, sign_in
):
    info = _gdap_customer(world, 1)
    reads = ["Directory.Read.All", "User.Read.All"]
    sim.consent(info["tenant_id"], consented=True, scopes=reads, app_roles=[])
    sim.faults(propagation_delay=1)
    customer = Customer.objects.get(tenant_id=info["tenant_id"])
    client = sign_in(ADMIN)

    html = _consent(client, customer).content.decode()

    assert 'data-kind="consented"' in html, html.split('data-testid="consent-result"')[-1][:600]
    paths = [
        (r["method"], r["status"])
        for r in sim.requests()["requests"]
        if "applicationconsents" in r["path"]
    ]
    assert ("DELETE", 204) in paths and ("POST", 409) in paths and ("POST", 201) in paths
    state = next(c for c in _us(sim.info())["customers"] if c["tenant_id"] == info["tenant_id"])
    assert "AppRoleAssignment.ReadWrite.All" in state["app_consent"]["scopes"]


def test_a_read_only_consent_is_replaced_by_one_with_the_action_scopes_and_actions_then_work(
    sim, world, customers, sign_in
):
    """The seeded GDAP consents are the reads (and app roles) only, as a customer consented
    before the portal had actions: "Consent the app" replaces it with the region's scopes, and
    an agent's action that Graph refused before is accepted."""
    from regions.permissions import ACTION_SCOPES

    info = _gdap_customer(world, 2)
    tenant = info["tenant_id"]
    sim.faults(propagation_delay=1)
    customer = Customer.objects.get(tenant_id=tenant)
    user = graph_as_app_first_user(customer)
    agent = sign_in("agent@contosopartners.com")
    refused = agent.post(
        f"/customers/{tenant}/users/{user}/actions/revoke-sessions/",
        {"key": str(uuid.uuid4()), "confirm": "yes"},
    )
    assert refused.status_code == 403

    html = _consent(sign_in(ADMIN), customer).content.decode()

    assert 'data-kind="consented"' in html, html.split('data-testid="consent-result"')[-1][:600]
    state = next(c for c in _us(sim.info())["customers"] if c["tenant_id"] == tenant)
    assert set(ACTION_SCOPES) <= set(state["app_consent"]["scopes"])
    time.sleep(1.1)  # the new consent's propagation
    agent_again = sign_in("agent@contosopartners.com")  # a new token carries the new scopes
    done = agent_again.post(
        f"/customers/{tenant}/users/{user}/actions/revoke-sessions/",
        {"key": str(uuid.uuid4()), "confirm": "yes"},
    )
    assert done.status_code == 302, done.content.decode().split('action-message">')[-1][:600]


def graph_as_app_first_user(customer: Customer) -> str:
    from regions.clients import graph_as_app

    graph = graph_as_app(region=customer.region, tenant_id=str(customer.tenant_id))
    return graph.get("/users", params={"$top": 1, "$select": "id"})["value"][0]["id"]


def test_consenting_with_a_revoked_grant_ends_the_session_instead_of_saying_sign_in_again(
    sim, unconsented, sign_in
):
    # Entra revoked the admin's refresh tokens (AADSTS50173): Partner Center's App+User token
    # cannot be had, the partner tenant refuses the grant too, so the portal session ends.
    # Reference: https://learn.microsoft.com/entra/identity-platform/refresh-tokens#token-revocation
    client = sign_in(ADMIN)
    time.sleep(1.1)  # token iat has one-second resolution
    sim.revoke(refresh_tokens=True)

    response = client.post(
        f"/customers/{unconsented.tenant_id}/access/consent/", {"confirm": "yes"}
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")
    assert AuditEvent.objects.filter(action="session.ended").exists()
    assert client.get("/customers/")["Location"].startswith("/signin/")
