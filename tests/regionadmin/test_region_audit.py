"""Every region change is in the audit log: who, when, which fields; secrets as "***"."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent
from regions.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(regions):
    """The audit events written after the demo regions were configured: the test's own."""
    start = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return AuditEvent.objects.filter(pk__gt=start)


def test_creating_a_region_records_the_admin_and_every_field_with_the_secret_masked(
    global_admin_client, region_data, regions, logged
):
    Region.objects.filter(slug="eu").delete()
    data = region_data()
    assert global_admin_client.post("/regions/new/", data).status_code == 302
    event = logged.get(action="region.create")
    assert event.actor == "globaladmin@contosopartners.com"
    assert event.region == "eu"
    assert event.at is not None
    changed = event.detail["changed"]
    assert changed["domains"] == [None, ["contosopartners.eu"]]
    assert changed["client_secret"] == [None, "***"]
    assert data["client_secret"] not in json.dumps(event.detail)


def test_an_edit_records_only_the_fields_that_changed(
    global_admin_client, region_data, regions, logged
):
    global_admin_client.post(
        "/regions/eu/",
        region_data(client_secret="", client_secret_expires_on="", name="Europe West"),
    )
    event = logged.get(action="region.update")
    assert event.detail["changed"] == {"name": ["Europe", "Europe West"]}


def test_a_new_secret_is_recorded_as_changed_but_never_shown(
    global_admin_client, region_data, regions, logged
):
    global_admin_client.post("/regions/eu/", region_data(client_secret="Brand~NewSecretValue123"))
    event = logged.get(action="region.update")
    assert event.detail["changed"]["client_secret"] == ["***", "***"]
    assert "Brand~NewSecretValue123" not in json.dumps(event.detail)


def test_saving_without_changes_records_nothing(global_admin_client, region_data, regions, logged):
    global_admin_client.post(
        "/regions/eu/", region_data(client_secret="", client_secret_expires_on="")
    )
    assert not logged.filter(action__startswith="region.").exists()


def test_a_refused_form_records_nothing(global_admin_client, region_data, regions, logged):
    global_admin_client.post("/regions/eu/", region_data(partner_tenant_id="nope"))
    assert not logged.filter(action__startswith="region.").exists()


def test_preconsent_is_recorded_with_its_outcome(admin_client, regions, sim, logged):
    sim.session.post(f"{sim.base_url}/_sim/regions/us/revoke-preconsent", timeout=10)
    admin_client.post("/regions/us/preconsent/", HTTP_HX_REQUEST="true")
    event = logged.get(action="region.preconsent")
    assert event.detail["status"] == "ok"
    assert event.actor == "admin@contosopartners.com"
