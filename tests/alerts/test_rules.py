"""Each rule opens one alert per condition, keeps it while true and resolves it when cleared."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.models import Alert, AlertKind, AlertState
from alerts.services import alerts_evaluate
from customers.models import ConsentState, GdapRelationship
from regions.models import CredentialType
from tests.factories import customer_make

pytestmark = pytest.mark.django_db


def _alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind).order_by("pk"))


def test_a_rate_below_the_threshold_opens_one_alert_however_often_it_is_evaluated(
    own_region, own_customer, record_sweep, settings
):
    settings.ALERT_COMPLIANCE_BELOW = 80
    record_sweep(own_customer, 70)
    first = alerts_evaluate(region=own_region)
    second = alerts_evaluate(region=own_region)
    [alert] = _alerts(AlertKind.COMPLIANCE_BELOW)
    assert (first.opened, second.opened, second.refreshed) == (1, 0, 1)
    assert alert.state == AlertState.OPEN and alert.customer == own_customer
    assert alert.detail["rate_pct"] == 70.0 and alert.detail["threshold_pct"] == 80
    assert "70.0%" in alert.title and alert.last_seen_at > alert.opened_at


def test_a_rate_back_above_the_threshold_resolves_the_alert_and_a_new_fall_opens_another(
    own_region, own_customer, record_sweep
):
    record_sweep(own_customer, 70)
    alerts_evaluate(region=own_region)
    record_sweep(own_customer, 95)
    assert alerts_evaluate(region=own_region).resolved == 1
    [alert] = _alerts(AlertKind.COMPLIANCE_BELOW)
    assert alert.state == AlertState.RESOLVED and alert.resolved_at is not None
    record_sweep(own_customer, 60)
    alerts_evaluate(region=own_region)
    assert [a.state for a in _alerts(AlertKind.COMPLIANCE_BELOW)] == ["resolved", "open"]


def test_a_drop_of_n_points_between_two_sweeps_opens_an_alert_and_a_steady_sweep_resolves_it(
    own_region, own_customer, record_sweep, settings
):
    settings.ALERT_COMPLIANCE_DROP = 10
    record_sweep(own_customer, 100)
    record_sweep(own_customer, 91)  # 9 points: not yet
    alerts_evaluate(region=own_region)
    assert _alerts(AlertKind.COMPLIANCE_DROP) == []
    record_sweep(own_customer, 81)  # 10 points
    alerts_evaluate(region=own_region)
    alerts_evaluate(region=own_region)
    [alert] = _alerts(AlertKind.COMPLIANCE_DROP)
    assert alert.detail["from_pct"] == 91.0 and alert.detail["to_pct"] == 81.0
    record_sweep(own_customer, 82)
    alerts_evaluate(region=own_region)
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED


def test_a_failed_sweep_between_two_good_ones_does_not_hide_a_drop(
    own_region, own_customer, record_sweep
):
    record_sweep(own_customer, 100)
    record_sweep(own_customer, "Forbidden")
    record_sweep(own_customer, 85)
    alerts_evaluate(region=own_region)
    assert len(_alerts(AlertKind.COMPLIANCE_DROP)) == 1


def test_two_failed_sweeps_in_a_row_open_an_alert_and_a_good_sweep_resolves_it(
    own_region, own_customer, record_sweep
):
    record_sweep(own_customer, 90)
    record_sweep(own_customer, "Forbidden")
    alerts_evaluate(region=own_region)
    assert _alerts(AlertKind.SWEEP_FAILING) == []
    record_sweep(own_customer, "Forbidden")
    alerts_evaluate(region=own_region)
    alerts_evaluate(region=own_region)
    [alert] = _alerts(AlertKind.SWEEP_FAILING)
    # The error's kind only: its text can name objects an alert reader need not see.
    assert alert.detail["error_kind"] == "forbidden" and "Forbidden" not in str(alert.detail)
    record_sweep(own_customer, 90)
    alerts_evaluate(region=own_region)
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED


def _relationship(customer, *, days: int, auto_extend: str, status: str = "active"):
    return GdapRelationship.objects.create(
        customer=customer,
        relationship_id=f"rel-{days}-{auto_extend}",
        display_name="Helpdesk",
        status=status,
        end_at=timezone.now() + timedelta(days=days),
        auto_extend=auto_extend,
        synced_at=timezone.now(),
    )


def test_a_gdap_relationship_ending_within_30_days_without_auto_extend_opens_one_alert(
    own_region, own_customer
):
    ending = _relationship(own_customer, days=20, auto_extend="PT0S")
    _relationship(own_customer, days=10, auto_extend="P180D")  # extends itself
    _relationship(own_customer, days=45, auto_extend="")  # not yet
    _relationship(own_customer, days=5, auto_extend="", status="expired")
    alerts_evaluate(region=own_region)
    alerts_evaluate(region=own_region)
    [alert] = _alerts(AlertKind.GDAP_ENDING)
    assert alert.detail["relationship_id"] == ending.relationship_id
    assert alert.detail["days_left"] in (19, 20)
    ending.auto_extend = "P180D"  # the admin switched auto-extend on; the next sync reads it
    ending.save()
    alerts_evaluate(region=own_region)
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED


def test_the_regions_client_secret_expiring_within_30_days_opens_one_region_wide_alert(
    own_region,
):
    own_region.client_secret_expires_at = timezone.now() + timedelta(days=12)
    own_region.save()
    alerts_evaluate(region=own_region)
    alerts_evaluate(region=own_region)
    [alert] = _alerts(AlertKind.CREDENTIAL_EXPIRING)
    assert alert.customer is None and alert.region == own_region
    assert "client secret" in alert.title and alert.detail["credential"] == "secret"
    assert own_region.client_secret not in str(alert.detail) + alert.title
    own_region.client_secret_expires_at = timezone.now() + timedelta(days=700)  # rotated
    own_region.save()
    alerts_evaluate(region=own_region)
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED


def test_an_expiring_certificate_counts_only_when_the_region_signs_in_with_it(own_region):
    own_region.certificate_expires_at = timezone.now() + timedelta(days=3)
    own_region.save()
    alerts_evaluate(region=own_region)
    assert _alerts(AlertKind.CREDENTIAL_EXPIRING) == []
    own_region.credential_type = CredentialType.CERTIFICATE
    own_region.save()
    alerts_evaluate(region=own_region)
    [alert] = _alerts(AlertKind.CREDENTIAL_EXPIRING)
    assert "certificate" in alert.title


def test_lost_consent_opens_one_alert_that_resolves_when_consent_works_again(
    own_region, own_customer
):
    own_customer.consent_state = ConsentState.NOT_CONSENTED
    own_customer.consent_lost_at = timezone.now()
    own_customer.save()
    alerts_evaluate(region=own_region)
    alerts_evaluate(region=own_region)
    [alert] = _alerts(AlertKind.CONSENT_LOST)
    assert alert.customer == own_customer
    own_customer.consent_state, own_customer.consent_lost_at = ConsentState.CONSENTED, None
    own_customer.save()
    alerts_evaluate(region=own_region)
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED


def test_an_acknowledged_alert_stays_acknowledged_while_its_condition_holds(
    own_region, own_customer, own_agent, record_sweep
):
    record_sweep(own_customer, 50)
    alerts_evaluate(region=own_region)
    Alert.objects.update(state=AlertState.ACKNOWLEDGED)
    assert alerts_evaluate(region=own_region).opened == 0
    assert Alert.objects.get().state == AlertState.ACKNOWLEDGED


def test_evaluating_one_region_neither_opens_nor_resolves_another_regions_alerts(
    own_region, other_region, other_customer, record_sweep
):
    record_sweep(other_customer, 40)
    alerts_evaluate(region=other_region)
    customer_make(region=own_region)
    alerts_evaluate(region=own_region)
    [alert] = Alert.objects.all()
    assert alert.region == other_region and alert.state == AlertState.OPEN


def test_the_database_refuses_a_second_unresolved_alert_for_one_condition(own_region):
    fields = {
        "region": own_region,
        "kind": AlertKind.CONSENT_LOST,
        "key": "customer-1",
        "title": "t",
        "opened_at": timezone.now(),
        "last_seen_at": timezone.now(),
    }
    Alert.objects.create(**fields, state=AlertState.RESOLVED)
    Alert.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(**fields, state=AlertState.ACKNOWLEDGED)
