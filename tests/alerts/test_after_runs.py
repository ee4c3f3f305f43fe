"""The rules run at the end of the real customer sync and compliance sweep, against the
simulator: no alert is opened by hand here."""

from __future__ import annotations

import pytest

from alerts.models import Alert, AlertKind, AlertState
from compliance.models import ComplianceSweep
from compliance.services import compliance_sweep, sweep_start
from customers.models import Customer
from regions.clients import app_token_drop
from tests.factories import consent_checks_aged, customers_synced

pytestmark = pytest.mark.django_db


def _us_gdap(world) -> list[str]:
    us = next(r for r in world["regions"] if r["slug"] == "us")
    return [
        c["tenant_id"]
        for c in us["customers"]
        if c["relationship"]["type"] == "gdap" and c["relationship"]["status"] == "active"
    ]


def _swept(region=None) -> ComplianceSweep:
    sweep, created = sweep_start(region=region, requested_by="test")
    assert created
    done = compliance_sweep(sweep_id=sweep.pk)
    assert done is not None and done.status == ComplianceSweep.Status.DONE
    return done


def test_a_sync_opens_the_alert_of_a_relationship_ending_without_auto_extend_once(world, regions):
    # The seeded world has a GDAP relationship ending within 30 days, autoExtendDuration PT0S.
    # Reference: https://learn.microsoft.com/graph/api/resources/delegatedadminrelationship
    customers_synced(regions["us"])
    first = list(Alert.objects.filter(kind=AlertKind.GDAP_ENDING))
    assert first and all(a.region == regions["us"] and a.customer for a in first)
    customers_synced(regions["us"])
    again = list(Alert.objects.filter(kind=AlertKind.GDAP_ENDING))
    assert [a.pk for a in again] == [a.pk for a in first]
    assert all(a.state == AlertState.OPEN for a in again)
    assert not Alert.objects.filter(region=regions["eu"]).exists()


def test_consent_removed_in_a_tenant_opens_an_alert_at_the_next_sync_that_resolves_once_back(
    sim, world, regions
):
    # Tokens shorter-lived than MSAL's 5-minute margin: every check asks Entra again.
    sim.faults(token_lifetime=240)
    tenant = _us_gdap(world)[0]
    customers_synced(regions["us"])
    assert not Alert.objects.filter(kind=AlertKind.CONSENT_LOST).exists()
    sim.consent(tenant, consented=False)
    consent_checks_aged(regions["us"])
    customers_synced(regions["us"])
    customers_synced(regions["us"])
    [alert] = Alert.objects.filter(kind=AlertKind.CONSENT_LOST)
    assert alert.customer == Customer.objects.get(tenant_id=tenant)
    assert alert.state == AlertState.OPEN
    sim.consent(tenant, consented=True)
    # MSAL remembers the tenant's refusal for a minute; "Consent the app" forgets it, as here.
    app_token_drop(region=regions["us"], tenant_id=tenant)
    customers_synced(regions["us"])
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.resolved_at is not None


def test_a_customer_failing_two_sweeps_in_a_row_opens_one_alert_and_one_good_sweep_resolves_it(
    sim, world, customers
):
    tenant = _us_gdap(world)[0]
    sim.consent(tenant, consented=False)  # no service principal: the sweep cannot read it
    _swept()
    assert not Alert.objects.filter(kind=AlertKind.SWEEP_FAILING).exists()
    _swept()
    _swept()
    [alert] = Alert.objects.filter(kind=AlertKind.SWEEP_FAILING, customer__tenant_id=tenant)
    assert alert.detail["error_kind"] == "not_consented"
    sim.consent(tenant, consented=True)
    # MSAL remembers the tenant's refusal for a minute; "Consent the app" forgets it, as here.
    app_token_drop(region=customers["us"][0].region, tenant_id=tenant)
    _swept()
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED


def test_a_sweep_of_one_region_evaluates_that_region_only(sim, world, customers, settings):
    # Every swept customer with devices is below a threshold of 101%.
    settings.ALERT_COMPLIANCE_BELOW = 101
    _swept(region=customers["us"][0].region)
    below = Alert.objects.filter(kind=AlertKind.COMPLIANCE_BELOW)
    assert below.exists()
    assert set(below.values_list("region__slug", flat=True)) == {"us"}


def test_a_broken_rule_is_logged_and_never_fails_the_sync(world, regions, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("a rule bug")

    monkeypatch.setattr("alerts.services.RULES", (broken,))
    customers_synced(regions["us"])  # asserts the run is done
    assert "alert evaluation of region us failed" in caplog.text
    assert not Alert.objects.exists()
