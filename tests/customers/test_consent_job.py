""" "Consent every customer that lacks it": a background job in a real Celery worker, acting as
the admin who started it through a delegated grant that is gone when it ends."""

from __future__ import annotations

import time

import pytest

from customers.models import ConsentResult, ConsentRun, ConsentState, Customer
from customers.services import customers_sync, sync_run_start
from regions.models import DelegatedGrant

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_finished(run: ConsentRun, seconds: float = 90) -> ConsentRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.finished:
            return run
        time.sleep(0.3)
    raise AssertionError(f"consent job still {run.status} ({run.step}) after {seconds} s")


def test_consent_every_customer_that_lacks_it_runs_in_the_worker_with_per_customer_results(
    celery_worker_process, sim, world, regions, sign_in
):
    us = next(r for r in world["regions"] if r["slug"] == "us")
    gdap = [
        c["tenant_id"]
        for c in us["customers"][1:]
        if c["relationship"]["type"] == "gdap" and c["relationship"]["status"] == "active"
    ][:2]
    for tenant in gdap:
        sim.consent(tenant, consented=False)
    sim.faults(propagation_delay=2)
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)
    lacking = set(
        Customer.objects.filter(region=regions["us"], relationship_status="active")
        .exclude(consent_state=ConsentState.CONSENTED)
        .values_list("tenant_id", flat=True)
    )
    assert {str(t) for t in lacking} == set(gdap)
    client = sign_in("admin@contosopartners.com")
    listing = client.get("/customers/").content.decode()
    assert "Consent every customer that lacks it (2)" in listing

    started = client.post("/customers/consent/")

    assert started.status_code == 302
    job = ConsentRun.objects.get(region=regions["us"])
    assert started["Location"] == f"/customers/consent/{job.pk}/"
    page = client.get(started["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in page
    job = _wait_finished(job)
    assert job.status == ConsentRun.Status.DONE, job.error
    assert (job.succeeded, job.failed, job.total) == (2, 0, 2)
    results = ConsentResult.objects.filter(run=job)
    assert {r.kind for r in results} == {"consented"}
    assert all(Customer.objects.get(tenant_id=t).consent_state == "consented" for t in gdap)
    # The admin's tokens lent to the job are forgotten at its end.
    assert job.grant_id is None and not DelegatedGrant.objects.exists()
    partial = client.get(f"/customers/consent/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in partial and "2 of 2 consented" in partial
    # Every one of them now answers client credentials (what sweeps use).
    for tenant in gdap:
        assert sim.app_token(us, tenant)


def test_a_second_start_while_a_job_runs_joins_it_and_lends_no_second_grant(
    celery_worker_process, sim, world, regions, sign_in
):
    us = next(r for r in world["regions"] if r["slug"] == "us")
    tenant = next(
        c["tenant_id"]
        for c in us["customers"][1:]
        if c["relationship"]["type"] == "gdap" and c["relationship"]["status"] == "active"
    )
    sim.consent(tenant, consented=False)
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)
    client = sign_in("admin@contosopartners.com")

    first = client.post("/customers/consent/")
    second = client.post("/customers/consent/")

    assert first["Location"] == second["Location"]
    assert ConsentRun.objects.count() == 1 and DelegatedGrant.objects.count() == 1
    # The job runs on in the worker: let it finish before the test's database is emptied
    # (a job still writing then deadlocks the flush and leaves rows to the next test).
    _wait_finished(ConsentRun.objects.get())


def test_with_nothing_to_consent_no_job_starts(world, regions, sign_in):
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)
    client = sign_in("admin@contosopartners.com")

    answer = client.post("/customers/consent/", follow=True)

    assert "Every customer with an active relationship is consented." in answer.content.decode()
    assert not ConsentRun.objects.exists() and not DelegatedGrant.objects.exists()


def test_an_agent_cannot_start_a_consent_job_nor_see_one(sim, regions, sign_in):
    job = ConsentRun.objects.create(region=regions["us"], requested_by="x")
    client = sign_in("agent@contosopartners.com")

    assert client.post("/customers/consent/").status_code == 403
    assert client.get(f"/customers/consent/{job.pk}/").status_code == 403


def test_an_admin_of_another_region_does_not_see_the_job(sim, regions, sign_in):
    job = ConsentRun.objects.create(region=regions["us"], requested_by="x")
    client = sign_in("admin@contosopartners.eu")

    assert client.get(f"/customers/consent/{job.pk}/").status_code == 404
