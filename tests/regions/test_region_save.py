"""One writer of region configuration, audited for pages and commands alike; one endpoint list."""

from __future__ import annotations

import dataclasses
import json

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from regions.models import CLOUD_PRESETS, ENDPOINT_FIELDS, Cloud, CloudEndpoints, Region
from regions.services import AUDITED_FIELDS, region_save
from tests.factories import region_make

pytestmark = pytest.mark.django_db


def test_the_demo_command_records_each_region_it_creates_with_its_name_as_the_actor(regions, world):
    events = AuditEvent.objects.filter(action="region.create").order_by("region")
    assert [e.region for e in events] == sorted(r["slug"] for r in world["regions"])
    for event in events:
        assert event.actor == "configure_demo_regions"
        assert event.user is None
        assert event.detail["changed"]["client_secret"] == [None, "***"]
    secrets = [r["app"]["client_secret"] for r in world["regions"]]
    assert not any(secret in json.dumps(e.detail) for e in events for secret in secrets)


def test_running_the_demo_command_again_changes_and_records_nothing(regions, sim):
    before = {r.slug: r.client_secret_encrypted for r in Region.objects.all()}
    call_command("configure_demo_regions", sim=sim.base_url, ca=sim.ca, stdout=None)
    assert not AuditEvent.objects.filter(action="region.update").exists()
    assert {r.slug: r.client_secret_encrypted for r in Region.objects.all()} == before


def test_the_demo_command_puts_back_what_an_edit_changed_and_records_it(regions, sim):
    Region.objects.filter(slug="us").update(name="Renamed", login_host="https://login.example")
    call_command("configure_demo_regions", sim=sim.base_url, ca=sim.ca, stdout=None)
    event = AuditEvent.objects.get(action="region.update")
    assert event.actor == "configure_demo_regions"
    assert event.detail["changed"]["name"] == ["Renamed", "United States"]
    assert event.detail["changed"]["login_host"][0] == "https://login.example"


def test_region_save_keeps_the_stored_secret_when_none_is_given(other_region):
    region = other_region
    secret = region.client_secret
    region.name = "Europe West"
    region_save(region=region, domains=["contosopartners.eu"], actor="test")
    assert Region.objects.get(pk=region.pk).client_secret == secret
    event = AuditEvent.objects.get(action="region.update")
    assert event.detail["changed"] == {"name": ["Europe", "Europe West"]}
    assert event.actor == "test"


def test_every_endpoint_is_a_region_field_and_every_preset_fills_them_all():
    region_fields = {f.name for f in Region._meta.get_fields()}
    assert set(ENDPOINT_FIELDS) <= region_fields
    assert set(ENDPOINT_FIELDS) <= set(AUDITED_FIELDS)
    for cloud in (Cloud.GLOBAL, Cloud.USGOV, Cloud.USGOV_DOD, Cloud.CHINA):
        assert all(CLOUD_PRESETS[cloud].as_dict().values())
    assert Cloud.CUSTOM not in CLOUD_PRESETS


def test_a_region_hands_out_its_endpoints_as_one_frozen_value():
    region = region_make(
        cloud=Cloud.CUSTOM,
        login_host="https://login.sovereign.example",
        partner_center_base_url="https://partner.sovereign.example",
    )
    endpoints = region.endpoints
    assert isinstance(endpoints, CloudEndpoints)
    assert endpoints.login_host == "https://login.sovereign.example"
    assert endpoints.partner_center_base_url == "https://partner.sovereign.example"
    with pytest.raises(dataclasses.FrozenInstanceError):
        endpoints.login_host = "https://elsewhere.example"  # type: ignore[misc]


def test_a_china_region_asks_partner_center_china_for_its_token_and_dod_uses_dod_graph():
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/partner-center-rest-urls
    # Reference: https://learn.microsoft.com/en-us/graph/deployments
    china = region_make(slug="cn", cloud=Cloud.CHINA, **CLOUD_PRESETS[Cloud.CHINA].as_dict())
    dod = region_make(slug="dod", cloud=Cloud.USGOV_DOD, **CLOUD_PRESETS[Cloud.USGOV_DOD].as_dict())

    assert china.partner_center_scopes == [
        "https://partner.partnercenterapi.microsoftonline.cn/.default"
    ]
    assert dod.graph_scopes == ["https://dod-graph.microsoft.us/.default"]
    assert dod.partner_center_scopes == ["https://api.partnercenter.microsoft.com/.default"]
