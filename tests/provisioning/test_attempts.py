"""The provisioning state machine, attempt by attempt, in this process against the simulator.

The worker tests (test_worker.py) run the same flow end to end; here each step is driven by
hand so the token behaviour is deterministic: one process, one token cache.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from customers.models import Customer, RelationshipStatus
from mscloud.errors import GraphForbidden
from mscloud.identity import IdentityError
from provisioning.models import Provisioning
from provisioning.services import (
    provisioning_attempt,
    provisioning_claim_due,
    provisioning_run_due,
)
from regions.access_template import access_template_parse
from regions.clients import app_token, app_token_drop, graph_as_app
from tests.provisioning.conftest import consent_given, create_customer

pytestmark = pytest.mark.django_db


def _due(customer: Customer) -> Provisioning:
    run = customer.provisionings.get()
    Provisioning.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
    return run


def _attempt(customer: Customer) -> Provisioning:
    _due(customer)
    claimed = provisioning_claim_due()
    assert claimed is not None
    result = provisioning_attempt(provisioning_id=claimed[0], attempt=claimed[1])
    assert result is not None
    return result


def _token_requests(sim: Any, tenant_id: str) -> int:
    return sum(
        1
        for r in sim.requests()["requests"]
        if r["kind"] == "token" and r.get("tenant") == tenant_id and r["path"].endswith("/token")
    )


def _until_propagated(seconds: float) -> None:
    time.sleep(seconds + 0.3)


def test_nothing_is_claimed_before_the_wait_is_over(agent: Client, fast: Any) -> None:
    create_customer(agent)
    assert provisioning_claim_due() is None


def test_a_due_run_is_claimed_by_one_worker_only(agent: Client, fast: Any) -> None:
    customer = create_customer(agent)
    run = _due(customer)
    assert provisioning_claim_due() == (run.pk, 1)
    assert provisioning_claim_due() is None
    run.refresh_from_db()
    assert run.status == "running"
    assert run.lease_until > timezone.now()


def test_it_succeeds_on_the_first_attempt_once_the_relationship_is_there(
    agent: Client, sim: Any, fast: Any
) -> None:
    sim.faults(propagation_delay=0)
    customer = create_customer(agent, domain_prefix=f"firstgo{int(time.time())}")
    consent_given(sim, customer)
    run = _attempt(customer)
    assert (run.status, run.attempt, run.last_error) == ("ready", 1, "")
    initial = {"name": customer.default_domain, "isDefault": False, "isInitial": True}
    assert initial | {"isDefault": True} in run.verified_domains or initial in run.verified_domains
    (default,) = [d["name"] for d in run.verified_domains if d["isDefault"]]
    assert run.results["users"] >= 1
    assert run.results["managed_devices"] == 0
    customer.refresh_from_db()
    assert customer.relationship_status == RelationshipStatus.ACTIVE
    assert customer.default_domain == default
    assert AuditEvent.objects.filter(action="customer.provisioning_ready").count() == 1
    assert run.finished_at is not None and run.lease_until is None


def test_the_retry_gets_a_new_token_because_the_old_one_lacks_the_roles(
    agent: Client, sim: Any, fast: Any
) -> None:
    sim.faults(propagation_delay=2, propagation_mode="no_roles")
    customer = create_customer(agent)
    consent_given(sim, customer)
    tenant_id = str(customer.tenant_id)
    first = _attempt(customer)
    assert (first.status, first.attempt) == ("retrying", 1)
    assert "HTTP 403" in first.last_error
    _until_propagated(2)
    # The token from attempt 1 is still cached in this process, and still refused: this is
    # why the retry must not reuse it.
    with pytest.raises(GraphForbidden):
        graph_as_app(region=customer.region, tenant_id=tenant_id).get("/organization")
    second = _attempt(customer)
    assert (second.status, second.attempt) == ("ready", 2)
    assert _token_requests(sim, tenant_id) == 2


def test_the_retry_is_not_answered_by_msals_remembered_refusal(
    agent: Client, sim: Any, fast: Any
) -> None:
    sim.faults(propagation_delay=2, propagation_mode="aadsts")
    customer = create_customer(agent)
    consent_given(sim, customer)
    tenant_id = str(customer.tenant_id)
    first = _attempt(customer)
    assert first.status == "retrying"
    assert "AADSTS700016" in first.last_error
    assert "has not reached the tenant yet" in first.last_error
    _until_propagated(2)
    sent = _token_requests(sim, tenant_id)
    # MSAL replays the identical HTTP 400 for 60 s without asking Entra ...
    with pytest.raises(IdentityError):
        app_token(region=customer.region, tenant_id=tenant_id)
    assert _token_requests(sim, tenant_id) == sent
    # ... until app_token_drop forgets it: then Entra is asked again and issues the token.
    app_token_drop(region=customer.region, tenant_id=tenant_id)
    assert app_token(region=customer.region, tenant_id=tenant_id)
    assert _token_requests(sim, tenant_id) == sent + 1
    # The provisioning retry does the same by itself: it drops the token just cached above and
    # asks Entra once more.
    second = _attempt(customer)
    assert (second.status, second.attempt) == ("ready", 2)
    assert _token_requests(sim, tenant_id) == sent + 2


def test_it_fails_after_the_last_attempt_with_the_reason(
    agent: Client, sim: Any, fast: Any
) -> None:
    fast.PROVISIONING_MAX_ATTEMPTS = 2
    sim.faults(propagation_delay=3600, propagation_mode="no_roles")
    customer = create_customer(agent)
    consent_given(sim, customer)
    assert _attempt(customer).status == "retrying"
    run = _attempt(customer)
    assert (run.status, run.attempt) == ("failed", 2)
    assert "HTTP 403" in run.last_error
    assert "Gave up after 2 attempts" in run.last_error
    event = AuditEvent.objects.get(action="customer.provisioning_failed")
    assert (event.actor, event.tenant_id) == ("provisioning", customer.tenant_id)
    assert run.next_attempt_at is None and run.finished_at is not None
    assert provisioning_claim_due() is None


def test_a_killed_workers_attempt_is_taken_over_after_its_lease(agent: Client, fast: Any) -> None:
    customer = create_customer(agent)
    run = _due(customer)
    assert provisioning_claim_due() == (run.pk, 1)
    assert provisioning_claim_due() is None  # the lease holds
    Provisioning.objects.filter(pk=run.pk).update(lease_until=timezone.now())
    assert provisioning_claim_due() == (run.pk, 2)
    run.refresh_from_db()
    assert "Attempt 1 stopped before it finished" in run.last_error


def test_the_outcome_of_a_lost_claim_is_not_recorded(agent: Client, sim: Any, fast: Any) -> None:
    sim.faults(propagation_delay=0)
    customer = create_customer(agent)
    consent_given(sim, customer)
    run = _due(customer)
    provisioning_claim_due()
    Provisioning.objects.filter(pk=run.pk).update(lease_until=timezone.now())
    assert provisioning_claim_due() == (run.pk, 2)
    assert provisioning_attempt(provisioning_id=run.pk, attempt=1) is None
    run.refresh_from_db()
    assert (run.status, run.attempt) == ("running", 2)
    assert provisioning_attempt(provisioning_id=run.pk, attempt=2).status == "ready"


def test_an_abandoned_last_attempt_fails_the_run(agent: Client, fast: Any) -> None:
    fast.PROVISIONING_MAX_ATTEMPTS = 1
    customer = create_customer(agent)
    run = _due(customer)
    provisioning_claim_due()
    Provisioning.objects.filter(pk=run.pk).update(lease_until=timezone.now())
    assert provisioning_claim_due() is None
    run.refresh_from_db()
    assert run.status == "failed"
    assert "stopped before it finished" in run.last_error


def test_run_due_works_through_every_due_run(agent: Client, sim: Any, fast: Any) -> None:
    sim.faults(propagation_delay=0)
    customers = [create_customer(agent) for _ in range(3)]
    for customer in customers:
        consent_given(sim, customer)
        _due(customer)
    assert provisioning_run_due() == 3
    assert {c.provisionings.get().status for c in customers} == {"ready"}


def test_a_created_customer_without_consent_waits_for_one_and_says_how(
    agent: Client, sim: Any, fast: Any
) -> None:
    fast.PROVISIONING_CONSENT_POLL_SECONDS = 3600
    sim.faults(propagation_delay=0)
    customer = create_customer(agent)
    run = _attempt(customer)
    # Entra does not know the app there: no retry every 60 s, a wait for the consent.
    assert run.status == "needs_consent"
    assert "AADSTS700016" in run.last_error and "Consent the app" in run.last_error
    assert run.next_attempt_at > timezone.now() + timedelta(minutes=59)
    assert provisioning_claim_due() is None
    page = agent.get(f"/customers/{customer.tenant_id}/provisioning/").content.decode()
    assert "not consented in this tenant yet" in page
    assert f"/customers/{customer.tenant_id}/access/" in page
    # An admin consents: the run is due at once and finishes with a new token.
    consent_given(sim, customer)
    claimed = provisioning_claim_due()
    assert claimed is not None
    done = provisioning_attempt(provisioning_id=claimed[0], attempt=claimed[1])
    assert done is not None and done.status == "ready", done.last_error


def test_waiting_for_consent_gives_up_after_the_configured_time(
    agent: Client, sim: Any, fast: Any
) -> None:
    fast.PROVISIONING_CONSENT_WAIT_SECONDS = 0
    sim.faults(propagation_delay=0)
    customer = create_customer(agent)
    run = _attempt(customer)
    assert run.status == "failed"
    assert "Gave up after 1 attempt" in run.last_error
    assert AuditEvent.objects.filter(action="customer.provisioning_failed").count() == 1


def test_the_region_s_partner_groups_get_access_in_the_new_customer(
    agent: Client, sim: Any, fast: Any, world: Any
) -> None:
    sim.faults(propagation_delay=0)
    customer = create_customer(agent)
    consent_given(sim, customer)
    region = customer.region
    us = next(r for r in world["regions"] if r["slug"] == "us")
    helpdesk = next(g for g in us["groups"] if g["name"] == "Helpdesk agents")
    region.new_customer_access = access_template_parse(
        f"{helpdesk['id']}: Directory Readers, Helpdesk Administrator, Intune Administrator"
    )
    region.save(update_fields=["new_customer_access"])
    run = _attempt(customer)
    assert run.status == "ready", run.last_error
    [group] = run.results["access"]["groups"]
    # Graph answers 201 with the assignment pending; it is active once it has propagated.
    assert group["group_id"] == helpdesk["id"] and group["result"] == "pending"
    # A created customer's default relationship has no Intune Administrator to give.
    assert group["roles"] == ["Directory Readers", "Helpdesk Administrator"]
    assert group["missing"] == ["Intune Administrator"]
    after = next(r for r in sim.info()["regions"] if r["slug"] == "us")
    roles = next(g for g in after["groups"] if g["id"] == helpdesk["id"])["roles_by_customer"]
    assert roles[str(customer.tenant_id)] == ["Directory Readers", "Helpdesk Administrator"]
    page = agent.get(f"/customers/{customer.tenant_id}/provisioning/").content.decode()
    assert helpdesk["id"] in page and "Intune Administrator" in page


def test_without_groups_configured_the_page_says_nobody_reaches_the_customer(
    agent: Client, sim: Any, fast: Any
) -> None:
    sim.faults(propagation_delay=0)
    customer = create_customer(agent)
    consent_given(sim, customer)
    customer.region.new_customer_access = []
    customer.region.save(update_fields=["new_customer_access"])
    run = _attempt(customer)
    assert run.status == "ready"
    assert run.results["access"]["state"] == "not_configured"
    page = agent.get(f"/customers/{customer.tenant_id}/provisioning/").content.decode()
    assert "no agent can open this customer" in page


def test_a_new_customer_goes_from_creation_to_ready_through_an_admins_consent(
    agent: Client, sim: Any, fast: Any, world: Any, sign_in: Any
) -> None:
    """Create → wait → the region's groups get their GDAP roles → not consented, waiting →
    an admin's "Consent the app" (Partner Center consent, app roles) → a new token → first
    calls → ready. Only Microsoft-side step assumed: the new customer's default relationship
    carries Privileged Role Administrator (Microsoft's default set is undocumented)."""
    fast.PROVISIONING_CONSENT_POLL_SECONDS = 3600
    sim._call(
        "POST",
        "/_sim/gdap/default-roles",
        {
            "roles": [
                "Directory Readers",
                "Global Reader",
                "Helpdesk Administrator",
                "Intune Administrator",
                "Cloud Application Administrator",
                "Privileged Role Administrator",
            ]
        },
    )
    sim.faults(propagation_delay=0)
    us = next(r for r in world["regions"] if r["slug"] == "us")
    groups = {g["name"]: g["id"] for g in us["groups"]}
    customer = create_customer(agent)
    region = customer.region
    region.new_customer_access = access_template_parse(
        f"{groups['Helpdesk agents']}: Directory Readers, Helpdesk Administrator, "
        "Intune Administrator\n"
        f"{groups['Portal admins']}: Directory Readers, Cloud Application Administrator, "
        "Privileged Role Administrator"
    )
    region.save(update_fields=["new_customer_access"])

    waiting = _attempt(customer)
    assert waiting.status == "needs_consent", waiting.last_error
    assert {g["result"] for g in waiting.results["access"]["groups"]} == {"pending"}

    admin = sign_in("admin@contosopartners.com")
    page = admin.post(
        f"/customers/{customer.tenant_id}/access/consent/", {"confirm": "yes"}, follow=True
    ).content.decode()
    assert 'data-kind="consented"' in page, page[-6000:]
    # The consent made the waiting run due at once; it finishes with a new token.
    claimed = provisioning_claim_due()
    assert claimed is not None
    done = provisioning_attempt(provisioning_id=claimed[0], attempt=claimed[1])
    assert done is not None and done.status == "ready", done.last_error
    assert done.results["users"] >= 1
    # And an agent of the Helpdesk group now reads the new tenant.
    users = agent.get(f"/customers/{customer.tenant_id}/users/")
    assert users.status_code == 200, users.content.decode()[:2000]
