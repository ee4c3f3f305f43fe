"""A region's own compliance thresholds: the portal's settings until its admin sets them, then
what the rules use for that region only; validated, audited, evaluated again at once."""

from __future__ import annotations

import pytest

from accounts.models import Role
from alerts.models import Alert, AlertKind, AlertSettings, AlertState
from alerts.selectors import alert_thresholds
from alerts.services import alert_settings_update, alerts_evaluate
from audit.models import AuditEvent
from tests.factories import client_for, user_make

pytestmark = pytest.mark.django_db


def kinds(region) -> set[str]:
    return set(
        Alert.objects.filter(region=region)
        .exclude(state=AlertState.RESOLVED)
        .values_list("kind", flat=True)
    )


def test_a_region_without_its_own_thresholds_uses_the_portals_settings(own_region, settings):
    settings.ALERT_COMPLIANCE_BELOW, settings.ALERT_COMPLIANCE_DROP = 75, 12
    thresholds = alert_thresholds(region=own_region)
    assert (thresholds.compliance_below, thresholds.compliance_drop) == (75, 12)
    assert thresholds.custom is False


def test_the_rules_use_the_regions_own_thresholds_and_not_another_regions(
    own_region, own_customer, other_region, other_customer, own_admin, record_sweep, settings
):
    settings.ALERT_COMPLIANCE_BELOW, settings.ALERT_COMPLIANCE_DROP = 80, 10
    for customer in (own_customer, other_customer):
        record_sweep(customer, 75)
        record_sweep(customer, 70)  # below 80, down 5 points
    alert_settings_update(region=own_region, compliance_below=60, compliance_drop=5, user=own_admin)
    alerts_evaluate(region=other_region)
    assert kinds(own_region) == {AlertKind.COMPLIANCE_DROP}
    assert kinds(other_region) == {AlertKind.COMPLIANCE_BELOW}
    drop = Alert.objects.get(region=own_region, kind=AlertKind.COMPLIANCE_DROP)
    assert drop.detail["threshold_points"] == 5


def test_an_admin_sets_the_thresholds_and_the_alerts_are_evaluated_again_at_once(
    own_region, own_customer, own_admin, record_sweep, settings
):
    settings.ALERT_COMPLIANCE_BELOW = 80
    record_sweep(own_customer, 70)
    alerts_evaluate(region=own_region)
    assert kinds(own_region) == {AlertKind.COMPLIANCE_BELOW}
    client = client_for(own_admin)
    page = client.get("/regions/us/alert-settings/").content.decode()
    assert 'value="80"' in page and "the portal's defaults" in page
    response = client.post(
        "/regions/us/alert-settings/",
        {"compliance_below": "65", "compliance_drop": "15"},
        follow=True,
    )
    html = response.content.decode()
    assert "saved and its alerts evaluated again: 0 opened, 1 resolved" in html
    assert "its own thresholds" in html and 'value="65"' in html
    assert kinds(own_region) == set()
    row = AlertSettings.objects.get(region=own_region)
    assert (row.compliance_below, row.compliance_drop, row.updated_by) == (65, 15, own_admin)
    event = AuditEvent.objects.get(action="alert.settings_update")
    assert event.detail["before"] == {
        "compliance_below": 80,
        "compliance_drop": 10,
        "custom": False,
    }
    assert event.detail["after"] == {"compliance_below": 65, "compliance_drop": 15, "custom": True}
    assert event.user_id == own_admin.pk and event.region == "us"
    notifications = client.get("/regions/us/notifications/").content.decode()
    assert "below 65% or on a drop of 15 points" in notifications
    # The same numbers again: nothing to save, nothing audited.
    again = client.post(
        "/regions/us/alert-settings/",
        {"compliance_below": "65", "compliance_drop": "15"},
        follow=True,
    )
    assert "were already these" in again.content.decode()
    assert AuditEvent.objects.filter(action="alert.settings_update").count() == 1


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        (
            {"compliance_below": "101", "compliance_drop": "10"},
            "compliance_below",
            "between 0 and 100",
        ),
        (
            {"compliance_below": "-1", "compliance_drop": "10"},
            "compliance_below",
            "between 0 and 100",
        ),
        (
            {"compliance_below": "", "compliance_drop": "10"},
            "compliance_below",
            "between 0 and 100",
        ),
        (
            {"compliance_below": "8.5", "compliance_drop": "10"},
            "compliance_below",
            "whole percentage",
        ),
        (
            {"compliance_below": "80", "compliance_drop": "0"},
            "compliance_drop",
            "between 1 and 100",
        ),
        (
            {"compliance_below": "80", "compliance_drop": "101"},
            "compliance_drop",
            "between 1 and 100",
        ),
        ({"compliance_below": "80", "compliance_drop": "ten"}, "compliance_drop", "whole number"),
    ],
)
def test_thresholds_out_of_range_are_refused_with_a_sentence(data, field, error, own_admin):
    response = client_for(own_admin).post("/regions/us/alert-settings/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-testid="error-{field}"' in html and error in html
    assert 'data-testid="form-errors"' in html
    assert not AlertSettings.objects.exists() and not AuditEvent.objects.exists()


def test_zero_turns_the_below_alert_off_and_one_hundred_alerts_on_anything_less(
    own_region, own_customer, own_admin, record_sweep
):
    record_sweep(own_customer, 99)
    alert_settings_update(region=own_region, compliance_below=0, compliance_drop=50, user=own_admin)
    assert kinds(own_region) == set()
    alert_settings_update(
        region=own_region, compliance_below=100, compliance_drop=50, user=own_admin
    )
    assert kinds(own_region) == {AlertKind.COMPLIANCE_BELOW}


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER])
def test_an_agent_or_a_manager_cannot_change_the_thresholds(role, own_region):
    client = client_for(user_make(region=own_region, role=role))
    assert client.get("/regions/us/alert-settings/").status_code == 403
    data = {"compliance_below": "10", "compliance_drop": "50"}
    assert client.post("/regions/us/alert-settings/", data).status_code == 403
    assert not AlertSettings.objects.exists()


def test_another_regions_admin_gets_404_and_changes_nothing(own_region, other_admin):
    client = client_for(other_admin)
    assert client.get("/regions/us/alert-settings/").status_code == 404
    data = {"compliance_below": "10", "compliance_drop": "50"}
    assert client.post("/regions/us/alert-settings/", data).status_code == 404
    assert not AlertSettings.objects.filter(region=own_region).exists()
    assert client.get("/regions/eu/alert-settings/").status_code == 200
