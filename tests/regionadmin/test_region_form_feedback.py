"""The region form marks what to fix: a red outline on each invalid input tied to its message,
every domain problem at once, and one credential section per credential type."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from regions.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def without_eu(regions: dict) -> None:
    Region.objects.filter(slug="eu").delete()


def _tag(html: str, name: str) -> str:
    match = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>', html)
    assert match, name
    return match.group(0)


def test_an_invalid_field_is_outlined_and_described_by_its_message(
    global_admin_client: Client, region_data, without_eu: None
) -> None:
    page = global_admin_client.post(
        "/regions/new/", region_data(partner_tenant_id="contoso")
    ).content.decode()
    tag = _tag(page, "partner_tenant_id")
    assert "is-invalid" in tag and 'aria-invalid="true"' in tag
    described = re.search(r'aria-describedby="([^"]+)"', tag)
    assert described and "id_partner_tenant_id_error" in described.group(1).split()
    error = re.search(r'<div class="invalid-feedback[^"]*" id="id_partner_tenant_id_error">', page)
    assert error, "the message the input points at"
    assert "is-invalid" not in _tag(page, "name")


def test_every_bad_domain_is_listed_at_once(
    global_admin_client: Client, region_data, without_eu: None
) -> None:
    domains = "https://x.com\ncontosopartners.com\nuser@contoso.eu\ncontosopartners.eu"
    response = global_admin_client.post("/regions/new/", region_data(domains=domains))
    assert response.status_code == 400
    page = response.content.decode()
    assert page.count('data-testid="error-domains"') == 3
    assert "“https://x.com” is not a domain name" in page
    assert "“user@contoso.eu” is not a domain name" in page
    assert "contosopartners.com already signs in to region United States" in page
    assert "is-invalid" in _tag(page, "domains")


def test_each_credential_section_is_marked_for_its_type_and_toggled_by_a_static_script(
    global_admin_client: Client,
) -> None:
    page = global_admin_client.get("/regions/new/").content.decode()
    assert page.count('data-credential="secret"') == 1
    assert page.count('data-credential="certificate"') == 1
    # Without JavaScript both show, each headed by the credential it is for.
    assert "used when “Client secret” is chosen above" in page
    assert "used when “Certificate” is chosen above" in page
    assert re.search(r'<script src="[^"]*js/region_form[^"]*\.js"', page)
    assert "<script>" not in page
