"""Creating and editing regions: clear validation errors, write-only secrets, cloud presets."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from regions.models import Region
from tests.regions.conftest import make_certificate

pytestmark = pytest.mark.django_db


def _errors(response) -> str:
    assert response.status_code == 400, response.status_code
    return response.content.decode()


@pytest.fixture
def without_eu(regions):
    """The EU region removed, so the tests can create it again from the simulator's data."""
    Region.objects.filter(slug="eu").delete()


def test_an_admin_creates_a_region_and_is_sent_to_its_setup_check(
    global_admin_client, region_data, without_eu
):
    response = global_admin_client.post("/regions/new/", region_data())
    assert response.status_code == 302
    assert response["Location"] == "/regions/eu/setup/?run=1"
    region = Region.objects.get(slug="eu")
    assert [d.domain for d in region.domains.all()] == ["contosopartners.eu"]
    assert region.client_secret.startswith("Sim8Q~")
    assert region.client_secret_expires_at is not None


def test_a_malformed_guid_gets_a_sentence_that_says_where_to_find_it(
    global_admin_client, region_data, without_eu
):
    page = _errors(
        global_admin_client.post("/regions/new/", region_data(partner_tenant_id="contoso"))
    )
    assert "is not a GUID" in page
    assert "Tenant ID" in page


def test_a_domain_of_another_region_is_a_form_error_naming_that_region(
    global_admin_client, region_data, without_eu
):
    page = _errors(
        global_admin_client.post("/regions/new/", region_data(domains="contosopartners.com"))
    )
    assert "contosopartners.com already signs in to region United States" in page
    assert not Region.objects.filter(slug="eu").exists()


def test_a_domain_with_an_at_sign_or_scheme_is_refused(
    global_admin_client, region_data, without_eu
):
    page = _errors(global_admin_client.post("/regions/new/", region_data(domains="https://x.com")))
    assert "is not a domain name" in page


def test_plain_http_is_refused_except_on_loopback(global_admin_client, region_data, without_eu):
    page = _errors(
        global_admin_client.post(
            "/regions/new/", region_data(login_host="http://login.example.com", name="")
        )
    )
    assert "Use an https:// URL" in page
    page = _errors(
        global_admin_client.post(
            "/regions/new/", region_data(login_host="http://127.0.0.1:9444", name="")
        )
    )
    assert "Use an https:// URL" not in page


def test_an_expired_secret_is_refused_for_an_active_region(
    global_admin_client, region_data, without_eu
):
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    page = _errors(
        global_admin_client.post("/regions/new/", region_data(client_secret_expires_on=yesterday))
    )
    assert "the secret has expired" in page


def test_a_new_secret_needs_its_expiry_date(global_admin_client, region_data, without_eu):
    page = _errors(
        global_admin_client.post("/regions/new/", region_data(client_secret_expires_on=""))
    )
    assert "Enter the date the new secret expires" in page


def test_a_new_region_needs_a_credential(global_admin_client, region_data, without_eu):
    page = _errors(global_admin_client.post("/regions/new/", region_data(client_secret="")))
    assert "Enter the client secret" in page


def test_a_duplicate_partner_tenant_or_slug_is_explained(global_admin_client, region_data, regions):
    page = _errors(global_admin_client.post("/regions/new/", region_data(domains="new.example")))
    assert "Another region already uses this partner tenant" in page
    assert "Another region already uses this slug" in page


def test_the_secret_is_never_rendered_back(global_admin_client, region_data, regions, world):
    secret = region_data()["client_secret"]
    page = global_admin_client.get("/regions/eu/").content.decode()
    assert secret not in page
    assert "A secret is stored" in page
    refused = global_admin_client.post("/regions/eu/", region_data(partner_tenant_id="nope"))
    assert secret not in refused.content.decode()


def test_editing_without_a_secret_keeps_the_stored_one(global_admin_client, region_data, regions):
    before = regions["eu"].client_secret
    response = global_admin_client.post(
        "/regions/eu/", region_data(client_secret="", name="Europe (EU Data Boundary)")
    )
    assert response.status_code == 302
    region = Region.objects.get(slug="eu")
    assert region.name == "Europe (EU Data Boundary)"
    assert region.client_secret == before


def test_a_cloud_preset_fills_the_endpoints(global_admin_client, region_data, without_eu):
    data = region_data(
        cloud="usgov", login_host="", graph_base_url="", partner_center_base_url="", ca_bundle=""
    )
    assert global_admin_client.post("/regions/new/", data).status_code == 302
    region = Region.objects.get(slug="eu")
    assert region.login_host == "https://login.microsoftonline.us"
    assert region.graph_base_url == "https://graph.microsoft.us"


def test_a_certificate_credential_is_stored_encrypted_with_its_thumbprint(
    global_admin_client, region_data, without_eu
):
    key, cert = make_certificate()
    data = region_data(
        credential_type="certificate", client_secret="", certificate_pem=cert, certificate_key=key
    )
    assert global_admin_client.post("/regions/new/", data).status_code == 302
    region = Region.objects.get(slug="eu")
    assert len(region.certificate_thumbprint) == 40
    assert "PRIVATE KEY" not in region.certificate_key_encrypted
    assert region.certificate_private_key.strip() == key.strip()
    page = global_admin_client.get("/regions/eu/").content.decode()
    assert region.certificate_thumbprint in page
    assert "PRIVATE KEY" not in page


def test_a_key_that_does_not_match_the_certificate_is_refused(
    global_admin_client, region_data, without_eu
):
    key, _ = make_certificate()
    _, cert = make_certificate()
    data = region_data(
        credential_type="certificate", client_secret="", certificate_pem=cert, certificate_key=key
    )
    page = _errors(global_admin_client.post("/regions/new/", data))
    assert "does not belong to this certificate" in page
    assert "PRIVATE KEY" not in page


def test_an_expired_certificate_is_refused(global_admin_client, region_data, without_eu):
    key, cert = make_certificate(days=-3)
    data = region_data(
        credential_type="certificate", client_secret="", certificate_pem=cert, certificate_key=key
    )
    assert "This certificate expired on" in _errors(global_admin_client.post("/regions/new/", data))


def test_the_list_warns_about_a_credential_that_expires_within_30_days(
    global_admin_client, regions
):
    from django.utils import timezone

    Region.objects.filter(slug="eu").update(
        client_secret_expires_at=timezone.now() + timedelta(days=10)
    )
    page = global_admin_client.get("/regions/").content.decode()
    assert 'data-testid="credential-warning"' in page
    assert "The app credential of region Europe expires on" in page


def test_changing_endpoints_requires_the_credential_again(
    global_admin_client, region_data, regions
):
    # Otherwise the stored secret would be posted to whatever login host is entered next.
    response = global_admin_client.post(
        "/regions/eu/", region_data(client_secret="", login_host="https://attacker.example")
    )
    assert response.status_code == 400
    assert "enter the credential again" in _errors(response)
    assert "attacker" not in Region.objects.get(slug="eu").login_host


def test_the_groups_for_new_customers_are_saved_as_role_ids_and_shown_as_names(
    global_admin_client, region_data, without_eu, world
):
    eu = next(r for r in world["regions"] if r["slug"] == "eu")
    helpdesk = next(g for g in eu["groups"] if g["name"] == "Helpdesk agents")
    access = f"{helpdesk['id']}: Directory Readers, Helpdesk Administrator"
    response = global_admin_client.post("/regions/new/", region_data(new_customer_access=access))
    assert response.status_code == 302, _errors(response)
    region = Region.objects.get(slug="eu")
    assert region.new_customer_access == [
        {
            "group_id": helpdesk["id"],
            "roles": [
                "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
                "729827e3-9c14-49f7-bb1b-9608f156bbb8",
            ],
        }
    ]
    page = global_admin_client.get("/regions/eu/").content.decode()
    assert access in page


def test_a_wrong_group_line_keeps_the_form_and_names_the_line(
    global_admin_client, region_data, without_eu
):
    page = _errors(
        global_admin_client.post(
            "/regions/new/", region_data(new_customer_access="Helpdesk: Directory Readers")
        )
    )
    assert "Line 1" in page and "not a group object id" in page
    assert not Region.objects.filter(slug="eu").exists()
