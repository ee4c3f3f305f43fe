"""Customer sync from the partner tenant's GDAP relationships and contracts."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from customers.models import (
    Customer,
    GdapRelationship,
    RelationshipStatus,
    RelationshipType,
    SyncRun,
)
from customers.services import customers_sync, sync_run_start
from customers.templatetags.graph import role_name


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
        if info["relationship"]["type"] == "dap":
            # A DAP-only customer has no GDAP relationship, so no end date; Partner Center's
            # allowDelegatedAccess makes it its own state, reachable (and swept) as active.
            assert customer.relationship_type == RelationshipType.DAP
            assert customer.relationship_status == RelationshipStatus.ACTIVE
            assert customer.relationship_end_at is None
            continue
        expected = (
            RelationshipStatus.ACTIVE
            if info["relationship"]["status"] == "active"
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


@pytest.mark.django_db
def test_the_poll_that_finds_a_sync_finished_announces_it_and_tells_the_list_to_re_read(
    sign_in, regions
):
    client = sign_in("agent@contosopartners.com")
    run, _ = sync_run_start(region=regions["us"])
    running = client.get(f"/customers/sync/{run.pk}/", headers={"HX-Request": "true"})
    assert "HX-Trigger" not in running and 'hx-trigger="every 1s"' in running.content.decode()
    customers_sync(run_id=run.pk)
    polled = client.get(f"/customers/sync/{run.pk}/", headers={"HX-Request": "true"})
    assert polled["HX-Trigger"] == "customers-synced"
    body = polled.content.decode()
    assert 'data-testid="sync-toast"' in body and 'role="status"' in body
    run.refresh_from_db()
    assert f"{run.total} customers, {run.created} new" in body
    # Without htmx (a bookmarked status URL) there is no toast, and a Reload link instead.
    plain = client.get(f"/customers/sync/{run.pk}/")
    assert "HX-Trigger" not in plain and "sync-toast" not in plain.content.decode()
    assert ">Reload</a>" in plain.content.decode()
    page = client.get("/customers/", {"sort": "domain"}).content.decode()
    assert 'hx-trigger="customers-synced from:body"' in page
    assert 'hx-get="/customers/?sort=domain"' in page


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


@pytest.mark.django_db
def test_a_taken_over_sync_stores_nothing_and_only_the_new_worker_finishes_it(
    world, regions, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    from customers import services

    run, _ = sync_run_start(region=regions["us"])
    real_read = services._read_customers
    ghost = "00000000-0000-0000-0000-00000000beef"

    def stalled_then_taken_over(region, old_run):
        # The first worker stalls past its lease (GC pause, frozen VM); a second one takes the
        # sync over and finishes it, then the first wakes up with what it had read.
        monkeypatch.setattr(services, "_read_customers", real_read)
        SyncRun.objects.filter(pk=old_run.pk).update(
            heartbeat_at=timezone.now() - timedelta(minutes=5)
        )
        second = customers_sync(run_id=old_run.pk)
        assert second is not None and second.status == SyncRun.Status.DONE
        return {ghost: services._Seen(name="Ghost of a stale read")}

    monkeypatch.setattr(services, "_read_customers", stalled_then_taken_over)
    assert customers_sync(run_id=run.pk) is None  # the first worker: LeaseLost, stops
    run.refresh_from_db()
    us = next(r for r in world["regions"] if r["slug"] == "us")
    assert run.status == SyncRun.Status.DONE and run.attempts == 2
    assert run.total == len(us["customers"]) and run.lease_owner == ""
    assert not Customer.objects.filter(tenant_id=ghost).exists()
    assert Customer.objects.filter(region=regions["us"]).count() == len(us["customers"])


@pytest.mark.django_db
def test_a_sync_is_taken_over_once_its_heartbeat_is_a_lease_old_however_long_it_ran(
    world, regions, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from customers.services import syncs_abandoned

    settings.CUSTOMER_SYNC_LEASE_SECONDS = 60
    run, _ = sync_run_start(region=regions["us"])
    long_ago = timezone.now() - timedelta(minutes=30)
    # Started half an hour ago but beating: alive (the old rule took it over after 10 min).
    SyncRun.objects.filter(pk=run.pk).update(
        status="running", attempts=1, started_at=long_ago, heartbeat_at=timezone.now()
    )
    assert syncs_abandoned() == []
    assert customers_sync(run_id=run.pk) is None
    # Silent for more than the lease: dead, and the next delivery takes it over.
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    assert syncs_abandoned() == [run.pk]
    run = customers_sync(run_id=run.pk)
    assert run is not None and run.status == SyncRun.Status.DONE and run.attempts == 2


@pytest.mark.django_db
def test_the_sync_beats_as_it_reads_each_page_and_at_every_step(
    world, regions, settings, monkeypatch
):
    from customers import services

    settings.CUSTOMER_SYNC_LEASE_SECONDS = 1
    beats: list[float] = []
    real_heartbeat = services.run_heartbeat

    def counted(run, **kwargs):
        real_heartbeat(run, **kwargs)
        beats.append(kwargs.get("every", 0))

    monkeypatch.setattr(services, "run_heartbeat", counted)
    run, _ = sync_run_start(region=regions["us"])
    assert customers_sync(run_id=run.pk).status == SyncRun.Status.DONE
    assert beats.count(0.25) >= len(
        next(r for r in world["regions"] if r["slug"] == "us")["customers"]
    )
    # One per step: the Graph listings (relationships, with the customer list and contracts
    # read beside them), the access assignments, the DAP lookup in Partner Center, the
    # consent checks, and the save; the fanned-out steps also beat as their calls finish.
    assert beats.count(0) == 5


@pytest.mark.django_db
def test_the_watch_resends_a_sync_whose_worker_died(regions, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from customers import tasks

    run, _ = sync_run_start(region=regions["us"])
    SyncRun.objects.filter(pk=run.pk).update(
        status="running", attempts=1, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    sent: list[int] = []
    monkeypatch.setattr(tasks, "sync_run_enqueue", sent.append)
    tasks.customers_sync_watch()
    assert sent == [run.pk]


@pytest.mark.django_db
def test_a_sync_stores_each_relationship_its_roles_and_which_groups_hold_them(world, regions):
    # Reference: https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-list-accessassignments
    run, _ = sync_run_start(region=regions["us"])
    assert customers_sync(run_id=run.pk).status == SyncRun.Status.DONE
    us = next(r for r in world["regions"] if r["slug"] == "us")
    held: dict[str, dict[str, set[str]]] = {}  # tenant → group id → role names
    for group in us["groups"]:
        for tenant, names in group["roles_by_customer"].items():
            held.setdefault(tenant, {})[group["id"]] = set(names)
    checked = set()
    for info in us["customers"]:
        customer = Customer.objects.get(tenant_id=info["tenant_id"])
        kind = info["relationship"]["type"]
        relationships = list(GdapRelationship.objects.filter(customer=customer))
        if kind == "dap":
            assert customer.relationship_type == RelationshipType.DAP and not relationships
            continue
        assert customer.relationship_type == (
            RelationshipType.MLT if kind == "mlt" else RelationshipType.GDAP
        )
        checked.add(kind)
        (rel,) = relationships
        assert {role_name(r) for r in rel.roles} == set(info["relationship"]["roles"])
        assert rel.status == info["relationship"]["status"]
        if rel.status == "active":
            stored = {
                a["group_id"]: {role_name(r) for r in a["roles"]} for a in rel.access_assignments
            }
            assert stored == held.get(info["tenant_id"], {})
        else:  # an expired relationship gives nobody access: its assignments are not read
            assert rel.access_assignments == []
    assert {"gdap", "mlt", "gdap+dap"} <= checked
    expiring = [
        r
        for r in GdapRelationship.objects.filter(customer__region=regions["us"])
        if r.status == "active" and not r.auto_extends
    ]
    assert expiring, "the seeded world has a relationship ending without auto-extend"


@pytest.mark.django_db
def test_a_sync_reads_access_assignments_in_batches_not_one_request_per_relationship(
    sim, world, regions
):
    before = sim.requests()["counters"]["graph"]
    run, _ = sync_run_start(region=regions["us"])
    assert customers_sync(run_id=run.pk).status == SyncRun.Status.DONE
    us = next(r for r in world["regions"] if r["slug"] == "us")
    active = sum(1 for c in us["customers"] if c["relationship"]["status"] == "active")
    # customers + relationships + contracts pages, and one $batch per 20 relationships; then
    # the consent check's two reads per active customer, in that customer (not the partner's).
    assert sim.requests()["counters"]["graph"] - before <= 3 + -(-active // 20) + 3 + 2 * active


@pytest.mark.django_db
def test_only_customers_without_gdap_are_looked_up_in_partner_center(sim, world, regions):
    before = sim.requests()["counters"]["partnercenter"]
    run, _ = sync_run_start(region=regions["us"])
    assert customers_sync(run_id=run.pk).status == SyncRun.Status.DONE
    us = next(r for r in world["regions"] if r["slug"] == "us")
    without_gdap = sum(1 for c in us["customers"] if c["relationship"]["type"] == "dap")
    assert without_gdap >= 1
    assert sim.requests()["counters"]["partnercenter"] - before == without_gdap


@pytest.mark.django_db
def test_partner_center_failing_leaves_dap_unknown_but_the_gdap_sync_done(world, regions, settings):
    settings.GRAPH_MAX_ATTEMPTS = 1
    region = regions["us"]
    region.partner_center_base_url = "https://127.0.0.1:9/partnercenter"  # nothing listens
    region.save(update_fields=["partner_center_base_url"])
    run, _ = sync_run_start(region=region)

    run = customers_sync(run_id=run.pk)

    assert run.status == SyncRun.Status.DONE, run.error
    us = next(r for r in world["regions"] if r["slug"] == "us")
    dap = next(c for c in us["customers"] if c["relationship"]["type"] == "dap")
    assert Customer.objects.get(tenant_id=dap["tenant_id"]).relationship_type == "none"
    assert GdapRelationship.objects.filter(customer__region=region).exists()


@pytest.mark.django_db
def test_the_verified_default_domain_is_kept_across_syncs_not_flipped_to_the_contracts_copy(
    world, regions
):
    # Reference: https://learn.microsoft.com/graph/api/resources/contract (defaultDomainName:
    #   a copy made when the partnership was established, not updated afterwards)
    # Reference: https://learn.microsoft.com/graph/api/resources/verifieddomain (isDefault)
    from mscloud.errors import MicrosoftError
    from provisioning.first_calls import first_calls_run

    call_command("sync_customers", stdout=None)
    region = regions["us"]
    verified = {}
    for customer in Customer.objects.filter(
        region=region, relationship_status=RelationshipStatus.ACTIVE
    ):
        try:
            calls = first_calls_run(region=region, tenant_id=str(customer.tenant_id))
        except MicrosoftError:  # not consented there: not this test's customer
            continue
        if calls.default_domain != customer.default_domain:
            verified[customer.pk] = calls.default_domain
    assert verified, "the seeded world has customers whose default domain is a custom one"
    for pk, domain in verified.items():
        Customer.objects.filter(pk=pk).update(default_domain=domain)  # as provisioning does
    for _ in range(2):
        call_command("sync_customers", stdout=None)
        stored = dict(Customer.objects.filter(pk__in=verified).values_list("pk", "default_domain"))
        assert stored == verified
    assert all(not d.endswith(".onmicrosoft.com") for d in verified.values())
