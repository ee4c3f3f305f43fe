"""Customer sync from the partner tenant's GDAP relationships and contracts."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from customers.models import Customer, RelationshipStatus, SyncRun
from customers.services import customers_sync, sync_run_start


@pytest.mark.django_db
def test_a_sync_stores_every_customer_with_domain_and_gdap_status(world, regions):
    run, created = sync_run_start(region=regions["us"])
    assert created
    run = customers_sync(run_id=run.pk)
    assert run.status == SyncRun.Status.DONE, run.error
    us = next(r for r in world["regions"] if r["slug"] == "us")
    stored = {str(c.tenant_id): c for c in Customer.objects.filter(region=regions["us"])}
    assert set(stored) == {c["tenant_id"] for c in us["customers"]}
    for info in us["customers"]:
        customer = stored[info["tenant_id"]]
        assert customer.default_domain == info["domain"]
        assert customer.name == info["name"]
        expected = (
            RelationshipStatus.ACTIVE
            if info["relationship"] == "active"
            else RelationshipStatus.EXPIRED
        )
        assert customer.relationship_status == expected
        assert customer.relationship_end_at is not None
    assert run.total == len(us["customers"]) and run.created == run.total


@pytest.mark.django_db
def test_a_second_sync_updates_instead_of_duplicating(world, regions):
    call_command("sync_customers", stdout=None)
    count = Customer.objects.count()
    call_command("sync_customers", stdout=None)
    assert Customer.objects.count() == count
    last = SyncRun.objects.filter(region=regions["eu"]).first()
    assert last.created == 0 and last.updated == last.total


@pytest.mark.django_db
def test_a_second_request_while_a_sync_is_queued_joins_it(regions):
    first, created = sync_run_start(region=regions["us"])
    second, created_again = sync_run_start(region=regions["us"])
    assert created and not created_again
    assert first.pk == second.pk


@pytest.mark.django_db
def test_a_delivered_twice_sync_runs_once(world, regions):
    run, _ = sync_run_start(region=regions["us"])
    assert customers_sync(run_id=run.pk) is not None
    assert customers_sync(run_id=run.pk) is None


@pytest.mark.django_db
def test_a_failed_sync_records_the_reason_in_words(sim, world, regions):
    sim.faults(error_rate=1.0)
    run, _ = sync_run_start(region=regions["us"])
    run = customers_sync(run_id=run.pk)
    assert run.status == SyncRun.Status.FAILED
    assert run.error and "Traceback" not in run.error


@pytest.mark.django_db(transaction=True)
def test_the_refresh_button_syncs_through_the_celery_worker(
    celery_worker_process, sign_in, regions
):
    client = sign_in("agent@contosopartners.com")
    response = client.post("/customers/sync/")
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in response.content.decode()
    run = SyncRun.objects.get(region=regions["us"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.finished:
            break
        time.sleep(0.3)
    assert run.status == SyncRun.Status.DONE, run.error
    status = client.get(f"/customers/sync/{run.pk}/").content.decode()
    assert "Synced" in status and "hx-trigger" not in status
    assert Customer.objects.filter(region=regions["us"]).count() == run.total > 0


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_a_refresh_stays_queued_and_the_schedule_resends_it(
    sign_in, regions, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone
    from kombu.exceptions import OperationalError

    from customers import tasks

    def broker_down(run_id: int) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    client = sign_in("agent@contosopartners.com")
    monkeypatch.setattr(tasks.customers_sync_run, "delay", broker_down)
    response = client.post("/customers/sync/")
    assert response.status_code == 200  # the page works; the job is not lost
    run = SyncRun.objects.get(region=regions["us"])
    assert run.status == SyncRun.Status.QUEUED

    sent: list[int] = []
    monkeypatch.setattr(tasks.customers_sync_run, "delay", sent.append)
    tasks.customers_sync_all()
    assert run.pk not in sent  # a fresh queued run may still be on its way
    SyncRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    sent.clear()
    tasks.customers_sync_all()
    assert run.pk in sent
