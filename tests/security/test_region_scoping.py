"""Roles stay in their region: Django admin, audit log, sweeps, region pages, and a trace of
every refused reach into another region. Factory rows, no simulator: nothing here asks
Microsoft (a refused request must not, and the rest reads the database)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from audit.services import audit_record
from compliance.models import ComplianceSnapshot, ComplianceSweep
from compliance.services import sweep_start
from tests.factories import client_for, customer_make, region_make, user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def us():
    return region_make("us")


@pytest.fixture
def eu():
    return region_make("eu")


@pytest.fixture
def us_admin(us):
    return user_make(region=us, role=Role.ADMIN)


@pytest.fixture
def global_admin(us):
    return user_make(region=us, role=Role.GLOBAL_ADMIN)


def _denials():
    return AuditEvent.objects.filter(action="access.denied")


# -- Django admin ------------------------------------------------------------------------------


def test_nobody_is_a_django_superuser_and_an_admin_may_only_view_history(us_admin):
    assert not us_admin.is_superuser
    assert us_admin.has_perm("audit.view_auditevent")
    assert us_admin.has_perm("compliance.view_compliancesweep")
    for perm in (
        "audit.delete_auditevent",
        "audit.change_auditevent",
        "compliance.delete_compliancesweep",
        "compliance.delete_compliancesnapshot",
        "provisioning.delete_provisioning",
        "regions.change_region",
        "accounts.change_user",
        "auth.add_group",
    ):
        assert not us_admin.has_perm(perm), perm


def test_a_manager_has_no_django_admin_permission_at_all(us):
    manager = user_make(region=us, role=Role.MANAGER)
    assert not manager.is_staff
    assert not manager.has_module_perms("audit")
    assert client_for(manager).get("/admin/audit/auditevent/").status_code in (302, 403)


def test_the_django_admin_audit_log_shows_a_region_admin_their_region_only(
    us, eu, us_admin, global_admin
):
    audit_record(action="region.save", actor="someone@us.example", region="us")
    audit_record(action="region.save", actor="someone@eu.example", region="eu")
    page = client_for(us_admin).get("/admin/audit/auditevent/").content.decode()
    assert "someone@us.example" in page
    assert "someone@eu.example" not in page
    every = client_for(global_admin).get("/admin/audit/auditevent/").content.decode()
    assert "someone@us.example" in every and "someone@eu.example" in every


def test_another_regions_audit_event_cannot_be_opened_by_its_id(eu, us_admin):
    event = audit_record(action="region.save", actor="someone@eu.example", region="eu")
    response = client_for(us_admin).get(f"/admin/audit/auditevent/{event.pk}/change/", follow=True)
    assert "someone@eu.example" not in response.content.decode()


def test_django_admin_shows_a_region_admin_only_their_regions_sweeps_and_snapshots(
    us, eu, us_admin
):
    us_sweep, _ = sweep_start(region=us)
    eu_sweep, _ = sweep_start(region=eu)
    eu_customer = customer_make(region=eu, name="Zeta Europe GmbH")
    us_customer = customer_make(region=us, name="Alpha America Inc.")
    for sweep, customer in ((us_sweep, us_customer), (eu_sweep, eu_customer)):
        ComplianceSnapshot.objects.create(
            sweep=sweep, customer=customer, ok=True, taken_at=timezone.now()
        )
    client = client_for(us_admin)
    sweeps = client.get("/admin/compliance/compliancesweep/").content.decode()
    assert f"/admin/compliance/compliancesweep/{us_sweep.pk}/" in sweeps
    assert f"/admin/compliance/compliancesweep/{eu_sweep.pk}/" not in sweeps
    snapshots = client.get("/admin/compliance/compliancesnapshot/").content.decode()
    assert "Alpha America Inc." in snapshots
    assert "Zeta Europe GmbH" not in snapshots
    regions = client.get("/admin/regions/region/").content.decode()
    assert "Region US" in regions and "Region EU" not in regions


@pytest.mark.parametrize(
    "path",
    [
        "/admin/audit/auditevent/{event}/delete/",
        "/admin/compliance/compliancesweep/{sweep}/delete/",
    ],
)
def test_history_cannot_be_deleted_even_by_a_global_admin(us, global_admin, path):
    event = audit_record(action="region.save", actor="a@us.example", region="us")
    sweep, _ = sweep_start(region=us)
    client = client_for(global_admin)
    url = path.format(event=event.pk, sweep=sweep.pk)
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert ComplianceSweep.objects.filter(pk=sweep.pk).exists()
    listing = client.get("/admin/audit/auditevent/").content.decode()
    assert "delete_selected" not in listing


# -- sweeps --------------------------------------------------------------------------------------


def test_sweep_now_sweeps_the_managers_own_region_whatever_the_form_says(us, eu):
    manager = user_make(region=us, role=Role.MANAGER)
    client = client_for(manager)
    assert client.post("/compliance/sweeps/", {"region": "eu"}).status_code == 200
    assert client.post("/compliance/sweeps/", {"region": "all"}).status_code == 200
    sweeps = list(ComplianceSweep.objects.all())
    assert [s.region for s in sweeps] == [us]  # the second joined the first
    assert AuditEvent.objects.get(action="compliance.sweep").detail == {"region": "us"}


def test_a_global_admin_sweeps_the_region_picked_or_every_region(us, eu, global_admin):
    client = client_for(global_admin)
    client.post("/compliance/sweeps/", {"region": "eu"})
    client.post("/compliance/sweeps/", {"region": "all"})
    assert {s.scope for s in ComplianceSweep.objects.all()} == {f"region-{eu.pk}", "all"}


def test_another_regions_sweep_status_is_not_found_and_the_attempt_audited(us, eu):
    manager = user_make(region=us, role=Role.MANAGER)
    eu_sweep, _ = sweep_start(region=eu)
    every, _ = sweep_start()
    client = client_for(manager)
    assert client.get(f"/compliance/sweeps/{eu_sweep.pk}/").status_code == 404
    assert client.get(f"/compliance/sweeps/{every.pk}/").status_code == 404
    assert client.get("/compliance/sweeps/999999/").status_code == 404
    rows = list(_denials().order_by("pk"))
    assert [r.detail["reason"] for r in rows] == ["another region", "another region", "unknown"]
    assert rows[0].detail["kind"] == "compliance sweep"
    assert rows[0].actor == manager.upn


def test_the_dashboard_shows_the_progress_of_the_managers_own_regions_sweep(us, eu):
    manager = user_make(region=us, role=Role.MANAGER)
    sweep_start(region=eu)  # newer than nothing of ours: must not show
    page = client_for(manager).get("/compliance/").content.decode()
    assert "No sweep has run yet" in page
    ours, _ = sweep_start(region=us)
    page = client_for(manager).get("/compliance/").content.decode()
    assert f"/compliance/sweeps/{ours.pk}/" in page


# -- region pages ----------------------------------------------------------------------------------


def test_a_region_admin_lists_and_opens_only_their_own_region(us, eu, us_admin):
    client = client_for(us_admin)
    listing = client.get("/regions/").content.decode()
    assert 'data-testid="region-us"' in listing
    assert 'data-testid="region-eu"' not in listing
    assert 'data-testid="new-region"' not in listing
    for path in ("/regions/eu/", "/regions/eu/setup/"):
        assert client.get(path).status_code == 404
    for path in ("/regions/eu/", "/regions/eu/setup/discovery/", "/regions/eu/preconsent/"):
        assert client.post(path, {"name": "Taken over"}).status_code == 404
    eu.refresh_from_db()
    assert eu.name == "Region EU"
    assert not AuditEvent.objects.filter(action__startswith="region.").exists()
    assert _denials().filter(detail__kind="region", detail__target="eu").count() == 5


def test_only_a_global_admin_creates_a_region(us, us_admin, global_admin):
    assert client_for(us_admin).get("/regions/new/").status_code == 403
    assert client_for(global_admin).get("/regions/new/").status_code == 200
    assert 'data-testid="new-region"' in client_for(global_admin).get("/regions/").content.decode()


# -- the trace of refused requests ---------------------------------------------------------------


def test_a_customer_of_another_region_is_not_found_and_the_attempt_is_audited(us, eu):
    agent = user_make(region=us, role=Role.AGENT)
    theirs = customer_make(region=eu)
    response = client_for(agent).get(f"/customers/{theirs.tenant_id}/", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 404
    row = _denials().get()
    assert row.user == agent
    assert row.region == "us"
    assert row.ip == "203.0.113.9"
    assert row.detail == {
        "kind": "customer",
        "target": str(theirs.tenant_id),
        "reason": "another region",
        "path": f"/customers/{theirs.tenant_id}/",
        "method": "GET",
    }


@override_settings(AUDIT_DENIALS_PER_MINUTE=3)
def test_a_probing_user_fills_the_audit_log_by_a_few_rows_a_minute_not_one_per_probe(us, eu):
    from django.core.cache import cache

    agent = user_make(region=us, role=Role.AGENT)
    cache.delete(f"audit:denied:user:{agent.pk}")
    client = client_for(agent)
    for _ in range(20):
        assert client.get(f"/customers/{customer_make(region=eu).tenant_id}/").status_code == 404
    assert _denials().count() == 3
    throttled = AuditEvent.objects.get(action="access.denied.throttled")
    assert throttled.detail["limit_per_minute"] == 3


@override_settings(PORTAL_TRUSTED_PROXY_COUNT=1)
def test_behind_one_trusted_proxy_the_audited_ip_is_the_one_the_proxy_saw(us, eu):
    agent = user_make(region=us, role=Role.AGENT)
    client_for(agent).get(
        f"/customers/{customer_make(region=eu).tenant_id}/",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7",  # the client wrote the first one itself
    )
    assert _denials().get().ip == "198.51.100.7"
