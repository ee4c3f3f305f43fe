"""Sign-in refuses clearly, before any redirect to Microsoft, when the region cannot serve it.

A refusal never reaches Microsoft, so those tests use the factories' regions; the two that do
go on to Microsoft's sign-in need the simulator's regions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from regions.models import Region

pytestmark = pytest.mark.django_db


def _refused(client, username: str) -> str:
    response = client.post("/signin/", {"username": username})
    assert response.status_code == 400, response.status_code
    assert "Location" not in response
    return response.content.decode()


def test_a_domain_in_no_region_says_so_and_who_can_add_it(portal_client, own_region):
    page = _refused(portal_client, "agent@fabrikam.example")
    assert "No region signs in accounts of “fabrikam.example”" in page
    assert "ask your portal admin to add this domain to a region" in page


def test_an_inactive_region_says_sign_in_is_switched_off(portal_client, own_region):
    Region.objects.filter(slug="us").update(active=False)
    page = _refused(portal_client, "agent@contosopartners.com")
    assert "Sign-in for region United States is switched off" in page


def test_a_region_whose_secret_expired_says_nobody_there_can_sign_in(portal_client, own_region):
    Region.objects.filter(slug="us").update(
        client_secret_expires_at=timezone.now() - timedelta(minutes=1)
    )
    page = _refused(portal_client, "agent@contosopartners.com")
    assert "The app credential of region United States has expired" in page
    assert "Ask your portal admin to renew its client secret or certificate" in page


def test_a_region_whose_certificate_expired_is_refused_the_same_way(portal_client, own_region):
    Region.objects.filter(slug="us").update(
        credential_type="certificate",
        certificate_expires_at=timezone.now() - timedelta(days=1),
        client_secret_expires_at=None,
    )
    page = _refused(portal_client, "agent@contosopartners.com")
    assert "The app credential of region United States has expired" in page


def test_a_secret_that_expires_soon_still_signs_in(portal_client, regions):
    Region.objects.filter(slug="us").update(
        client_secret_expires_at=timezone.now() + timedelta(days=3)
    )
    response = portal_client.post("/signin/", {"username": "agent@contosopartners.com"})
    assert response.status_code == 302


def test_the_other_region_is_not_affected(portal_client, regions):
    Region.objects.filter(slug="us").update(active=False)
    response = portal_client.post("/signin/", {"username": "agent@contosopartners.eu"})
    assert response.status_code == 302
