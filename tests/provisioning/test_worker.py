"""End to end with a real Celery worker and beat on Redis, the simulator as Microsoft.

Delays are seconds (stored on each run from the test's settings, so the worker process
follows them). Beat ticks every second; the worker claims due runs from the database.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from customers.models import Customer
from provisioning.models import Provisioning
from provisioning.tasks import provisioning_tick
from tests.celeryproc import start_worker
from tests.factories import customers_synced
from tests.provisioning.conftest import consent_given, create_customer, wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

FINISHED = {"ready", "failed"}


def _requests_for(sim: Any, tenant_id: str, kind: str) -> list[dict[str, Any]]:
    return [
        r for r in sim.requests()["requests"] if r["kind"] == kind and r.get("tenant") == tenant_id
    ]


def _status_page(client: Client, customer: Customer) -> str:
    return client.get(f"/customers/{customer.tenant_id}/provisioning/status/").content.decode()


def test_it_succeeds_on_the_first_attempt_after_the_wait(
    provisioning_celery: Any, agent: Client, sim: Any, fast: Any
) -> None:
    fast.PROVISIONING_WAIT_SECONDS = 3
    sim.faults(propagation_delay=1)
    customer = create_customer(agent)
    consent_given(sim, customer)
    page = _status_page(agent, customer)
    assert "Waiting for the partner relationship" in page
    assert 'data-countdown="' in page and 'hx-trigger="every 2s"' in page
    run = wait_for(customer, FINISHED)
    assert (run.status, run.attempt) == ("ready", 1)
    # Nobody called Microsoft for the tenant before the wait was over.
    tokens = _requests_for(sim, str(customer.tenant_id), "token")
    assert len(tokens) == 1
    page = _status_page(agent, customer)
    assert "Ready: the portal reads this tenant" in page
    assert customer.default_domain in page
    assert "hx-trigger" not in page  # polling stops once finished


@pytest.mark.parametrize("mode", ["no_roles", "aadsts"])
def test_it_succeeds_only_on_the_retry_with_a_new_token(
    provisioning_celery: Any, agent: Client, sim: Any, fast: Any, mode: str
) -> None:
    # The first attempt (after 1 s) comes before the relationship propagates (after 3 s);
    # the retry (2 s later) comes after. In "no_roles" the first token is issued without the
    # preconsented roles and stays useless after propagation; in "aadsts" MSAL would replay
    # the refusal for 60 s. Only a new token from Entra succeeds.
    sim.faults(propagation_delay=3, propagation_mode=mode)
    customer = create_customer(agent)
    consent_given(sim, customer)
    retrying = wait_for(customer, {"retrying"} | FINISHED)
    assert retrying.status == "retrying"
    page = _status_page(agent, customer)
    assert "Attempt 1 of 3 failed" in page
    assert ("HTTP 403" if mode == "no_roles" else "AADSTS700016") in page
    run = wait_for(customer, FINISHED)
    assert (run.status, run.attempt) == ("ready", 2), run.last_error
    tokens = _requests_for(sim, str(customer.tenant_id), "token")
    assert len(tokens) == 2


def test_it_fails_after_the_last_attempt_and_the_page_says_why(
    provisioning_celery: Any, agent: Client, sim: Any, fast: Any
) -> None:
    fast.PROVISIONING_RETRY_SECONDS = 1
    sim.faults(propagation_delay=3600, propagation_mode="no_roles")
    customer = create_customer(agent)
    consent_given(sim, customer)
    run = wait_for(customer, FINISHED)
    assert (run.status, run.attempt) == ("failed", 3)
    page = agent.get(f"/customers/{customer.tenant_id}/provisioning/").content.decode()
    assert "Provisioning failed after 3 attempts" in page
    assert "HTTP 403" in page
    assert "AdminAgents" in page  # what to do next
    assert 'data-testid="provisioning-again"' in page
    assert len(_requests_for(sim, str(customer.tenant_id), "token")) == 3


def test_a_tick_delivered_twice_to_two_workers_makes_one_set_of_first_calls(
    provisioning_celery: Any, provisioning_queue: str, agent: Client, sim: Any, fast: Any
) -> None:
    fast.PROVISIONING_WAIT_SECONDS = 4
    sim.faults(propagation_delay=0)
    second = start_worker(provisioning_queue, "provisioning-second")
    try:
        customer = create_customer(agent)
        consent_given(sim, customer)
        time.sleep(4)
        # Beat's own ticks plus a burst of duplicates, taken by two workers at once.
        for _ in range(6):
            provisioning_tick.apply_async(queue=provisioning_queue)
        run = wait_for(customer, FINISHED)
        time.sleep(2)  # let every duplicate run to its end
    finally:
        second.stop()
    run.refresh_from_db()
    assert (run.status, run.attempt) == ("ready", 1)
    tenant_id = str(customer.tenant_id)
    assert len(_requests_for(sim, tenant_id, "graph")) == 1  # one $batch of first calls
    assert len(_requests_for(sim, tenant_id, "token")) == 1
    assert Provisioning.objects.filter(customer=customer).count() == 1


def test_a_worker_killed_mid_attempt_does_not_stop_the_job(
    provisioning_celery: Any, provisioning_queue: str, agent: Client, sim: Any, fast: Any
) -> None:
    # A worker of its own, with a short lease, on a queue only this test feeds.
    queue = f"{provisioning_queue}-doomed"
    doomed = start_worker(queue, "provisioning-doomed", PROVISIONING_LEASE_SECONDS="3")
    try:
        fast.PROVISIONING_WAIT_SECONDS = 3600  # beat's worker must not take it first
        sim.faults(propagation_delay=0)
        customer = create_customer(agent)
        consent_given(sim, customer)
        tenant_id = str(customer.tenant_id)
        # Entra answers this tenant slowly: the attempt is under way when the worker dies.
        sim.faults(tenant=tenant_id, latency_ms=20000)
        run = customer.provisionings.get()
        Provisioning.objects.filter(pk=run.pk).update(next_attempt_at=run.created_at)
        provisioning_tick.apply_async(queue=queue)
        running = wait_for(customer, {"running"})
        assert running.attempt == 1
        time.sleep(1)
        doomed.kill()
    finally:
        doomed.stop()
    sim.faults(tenant=tenant_id, latency_ms=None)
    # The lease runs out after 3 s; beat's worker takes the run over and finishes it.
    run = wait_for(customer, FINISHED, timeout=30)
    assert (run.status, run.attempt) == ("ready", 2), run.last_error


def test_an_accepted_invitation_found_by_the_sync_runs_the_same_delayed_flow(
    provisioning_celery: Any, agent: Client, sim: Any, fast: Any, customers: Any, regions: Any
) -> None:
    fast.PROVISIONING_WAIT_SECONDS = 1
    customer = customers["us"][0]
    tenant_id = str(customer.tenant_id)
    sim.relationship(tenant_id, status="approvalPending")
    customers_synced(regions["us"])
    assert customer.provisionings.count() == 0
    page = agent.get(f"/customers/{tenant_id}/").content.decode()
    assert "granularAdminRelationships/" in page and 'data-testid="invitation-link"' in page
    sim.faults(propagation_delay=3, propagation_mode="no_roles")
    sim.accept_invitation(tenant_id)
    customers_synced(regions["us"])
    run = customer.provisionings.get()
    assert (run.kind, run.status, run.requested_by) == ("invitation", "waiting", "customer sync")
    run = wait_for(customer, FINISHED)
    assert (run.status, run.attempt) == ("ready", 2), run.last_error
    page = agent.get(f"/customers/{tenant_id}/provisioning/").content.decode()
    assert "Invitation accepted" in page and "Ready" in page
    customers_synced(regions["us"])  # a later sync starts nothing new: nothing awaits approval
    assert customer.provisionings.count() == 1


def test_a_worker_waits_for_the_consent_and_finishes_right_after_it(
    provisioning_celery: Any, agent: Client, sim: Any, fast: Any
) -> None:
    fast.PROVISIONING_CONSENT_POLL_SECONDS = 3600
    sim.faults(propagation_delay=0)
    customer = create_customer(agent)
    run = wait_for(customer, {"needs_consent"} | FINISHED)
    assert run.status == "needs_consent", run.last_error
    assert "Consent the app" in _status_page(agent, customer)
    consent_given(sim, customer)
    run = wait_for(customer, FINISHED)
    assert run.status == "ready", run.last_error
