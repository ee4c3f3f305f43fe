"""The regions page sums up what in the admin's regions needs them, each with the link that
fixes it; nothing when all is well."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from customers.models import Customer
from regions.models import Region
from regions.services import region_setup_record
from regions.setup import CHECKS, Status

pytestmark = pytest.mark.django_db


def _all_ok(region: Region) -> None:
    for check in CHECKS:
        region_setup_record(region=region, key=check.key, status=Status.OK)


def test_an_admin_whose_region_is_well_sees_no_setup_summary(
    admin_client: Client, regions: dict[str, Any], customers: Any
) -> None:
    _all_ok(regions["us"])
    Customer.objects.filter(region=regions["us"]).update(consent_state="consented")
    page = admin_client.get("/regions/").content.decode()
    assert 'data-testid="setup-attention"' not in page


def test_the_summary_lists_each_problem_with_the_link_that_fixes_it(
    admin_client: Client, regions: dict[str, Any], customers: Any
) -> None:
    us = regions["us"]
    _all_ok(us)
    region_setup_record(region=us, key="permissions", status=Status.FAIL)
    Region.objects.filter(pk=us.pk).update(
        client_secret_expires_at=timezone.now() + timedelta(days=5)
    )
    Customer.objects.filter(region=us).update(consent_state="consented")
    failing = list(Customer.objects.filter(region=us, relationship_status="active")[:2])
    assert len(failing) == 2
    Customer.objects.filter(pk__in=[c.pk for c in failing]).update(consent_state="not_consented")
    page = html.unescape(admin_client.get("/regions/").content.decode())
    assert 'data-testid="setup-attention"' in page
    assert "Needs you: 3 setup items" in page
    assert "1 setup check of region United States failed" in page
    assert 'href="/regions/us/setup/?run=1">Check the setup again' in page
    assert "The app credential of region United States expires on" in page
    assert 'href="/regions/us/">Enter a new credential' in page
    assert "The app's consent fails for 2 customers of region United States" in page
    assert 'href="/customers/">Consent the app for them' in page


def test_a_region_without_a_credential_is_named_first(
    global_admin_client: Client, regions: dict[str, Any]
) -> None:
    Region.objects.filter(slug="eu").update(client_secret_encrypted="")
    page = global_admin_client.get("/regions/").content.decode()
    assert 'data-testid="attention-credential" data-region="eu"' in page
    assert "Region Europe has no app credential" in page
