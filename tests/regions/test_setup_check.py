"""The setup checklist against the simulator: each check's verdict and Microsoft's words."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from regions.models import Region
from regions.services import region_check_run, region_preconsent
from regions.setup import CHECKS, Status, run_check

pytestmark = pytest.mark.django_db


def _run_all(region: Region) -> dict[str, str]:
    return {check.key: run_check(region=region, key=check.key).status for check in CHECKS}


def test_a_correctly_configured_region_passes_every_check(regions):
    assert _run_all(regions["us"]) == {check.key: Status.OK for check in CHECKS}


def test_a_wrong_secret_fails_the_credential_check_with_the_aadsts_text(regions):
    region = regions["us"]
    region.set_client_secret("not-the-secret")
    result = run_check(region=region, key="credential")
    assert result.status == Status.FAIL
    assert "AADSTS7000215" in result.error
    assert "Certificates & secrets" in result.fix


def test_an_unknown_partner_tenant_fails_discovery_with_the_aadsts_text(regions):
    region = regions["us"]
    region.partner_tenant_id = "00000000-0000-0000-0000-0000000000aa"
    result = run_check(region=region, key="discovery")
    assert result.status == Status.FAIL
    assert "AADSTS90002" in result.error


def test_an_app_outside_admin_agents_fails_and_preconsent_fixes_it(regions, sim, rf):
    region = regions["eu"]
    sim.session.post(f"{sim.base_url}/_sim/regions/eu/revoke-preconsent", timeout=10)
    result = run_check(region=region, key="adminagents")
    assert result.status == Status.FAIL
    assert "not a member of AdminAgents" in result.summary
    # The app's own credential lacks GroupMember.ReadWrite.All in the simulator's world.
    refused = region_preconsent(region=region)
    assert refused.status == Status.FAIL
    assert "Authorization_RequestDenied" in refused.error


def test_a_single_tenant_app_fails_the_multi_tenant_check(regions, sim):
    sim.session.post(
        f"{sim.base_url}/_sim/regions/us/app", json={"multi_tenant": False}, timeout=10
    )
    result = run_check(region=regions["us"], key="multitenant")
    assert result.status == Status.FAIL
    assert "AzureADMyOrg" in result.summary


def test_the_permission_check_lists_the_app_roles_graph_says_the_app_holds(regions):
    result = run_check(region=regions["us"], key="permissions")
    assert result.status in (Status.OK, Status.WARN)
    assert "Directory.Read.All" in result.facts["granted"]


def test_check_results_are_stored_as_statuses_only(regions):
    region = regions["us"]
    region.set_client_secret("wrong")
    region_check_run(region=region, key="credential")
    stored = Region.objects.get(pk=region.pk).setup_results["credential"]
    assert stored["status"] == Status.FAIL
    assert set(stored) == {"status", "at"}
    assert not AuditEvent.objects.filter(detail__icontains="wrong").exists()


def test_partner_center_refusing_the_apps_token_fails_its_check_with_entras_words(regions):
    region = regions["us"]
    region.set_client_secret("not-the-secret")

    result = run_check(region=region, key="partnercenter")

    assert result.status == Status.FAIL
    assert "Partner Center token" in result.summary
    assert "AADSTS7000215" in result.error


def test_the_customer_probe_gets_a_token_in_a_real_customer_tenant(regions, world):
    result = run_check(region=regions["us"], key="customerprobe")

    assert result.status == Status.OK
    us = next(r for r in world["regions"] if r["slug"] == "us")
    assert result.facts["customer"] in {c["tenant_id"] for c in us["customers"]}


def test_the_customer_probe_fails_where_the_app_gets_no_token_in_the_customer(regions, sim):
    probed = run_check(region=regions["us"], key="customerprobe").facts["customer"]
    # A GDAP customer without the app's consent: Entra has no service principal for it.
    sim.consent(probed, consented=False)

    result = run_check(region=regions["us"], key="customerprobe")

    assert result.status == Status.FAIL
    assert "token" in result.summary and result.facts["customer"] == probed
    assert "AADSTS700016" in result.error
    assert "consent" in result.fix


def test_the_customer_probe_fails_where_the_token_carries_no_app_roles(regions, sim):
    probed = run_check(region=regions["us"], key="customerprobe").facts["customer"]
    # Consented (the service principal is there) but no app role assigned to it.
    sim.consent(probed, consented=True, app_roles=[])

    result = run_check(region=regions["us"], key="customerprobe")

    assert result.status == Status.FAIL
    assert "app roles" in result.summary
    assert "Authorization_RequestDenied" in result.error or "403" in result.error
