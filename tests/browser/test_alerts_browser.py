"""The alerts page in Chromium: an alert a sweep opened is listed, an agent acknowledges it on
the page and the row then says who and when."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import User
from alerts.models import Alert, AlertKind, AlertState
from alerts.services import alerts_evaluate
from compliance.collect import Outcome
from compliance.models import ComplianceSweep
from compliance.services import snapshots_record
from tests.compliance.conftest import tally_of
from tests.factories import chunk_claimed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AGENT = "agent@contosopartners.com"


def _low_compliance(customer) -> Alert:
    """A sweep finding 3 of 10 devices compliant, and the rules evaluated as after a sweep."""
    now = timezone.now()
    sweep = ComplianceSweep.objects.create(region=customer.region, status="running", started_at=now)
    tally = tally_of(compliant=3, noncompliant=7)
    snapshots_record(
        chunk=chunk_claimed(sweep),
        outcomes=[Outcome(customer.pk, customer.region_id, now, tally=tally)],
    )
    sweep.status, sweep.finished_at = "done", now
    sweep.save()
    alerts_evaluate(region=customer.region)
    return Alert.objects.get(customer=customer, kind=AlertKind.COMPLIANCE_BELOW)


def test_an_agent_acknowledges_an_open_alert_and_the_page_shows_who_and_when(
    page, live_server, regions, customers, browser_sign_in, shot
):
    customer = next(c for c in customers["us"] if c.relationship_status == "active")
    alert = _low_compliance(customer)
    browser_sign_in(page, AGENT)

    page.goto(f"{live_server.url}/alerts/")
    row = page.locator(f"tr[data-alert='{alert.pk}']")
    assert alert.title in row.inner_text() and customer.name in row.inner_text()
    assert row.get_by_test_id("alert-state").inner_text() == "Open"
    shot(page, "alerts-open")

    row.get_by_test_id("acknowledge-button").click()
    page.wait_for_url(f"{live_server.url}/alerts/")
    assert f"Acknowledged: {alert.title}" in page.locator(".alert-success").inner_text()
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED
    agent = User.objects.get(pk=alert.acknowledged_by_id)
    assert agent.upn == AGENT
    state = page.locator(f"tr[data-alert='{alert.pk}']").get_by_test_id("alert-state").inner_text()
    who = agent.display_name or agent.upn
    assert state == f"Acknowledged by {who} at {alert.acknowledged_at:%Y-%m-%d %H:%M}"
    assert (
        page.locator(f"tr[data-alert='{alert.pk}']").get_by_test_id("acknowledge-button").count()
        == 0
    )
    shot(page, "alerts-acknowledged")


def test_an_admin_sees_a_failing_channel_renames_it_and_pauses_it(
    page, live_server, regions, customers, browser_sign_in, shot, settings
):
    import socket

    from alerts.models import ChannelKind, Delivery, NotificationChannel
    from alerts.notifications import delivery_attempt

    settings.ALERT_DELIVERY_MAX_ATTEMPTS = 1
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once this block ends: nothing answers there
    channel = NotificationChannel(region=regions["us"], kind=ChannelKind.TEAMS, name="Ops room")
    channel.set_target(f"http://127.0.0.1:{port}/hooks/T0SECRETPATH")
    channel.save()
    customer = next(c for c in customers["us"] if c.relationship_status == "active")
    alert = _low_compliance(customer)
    delivery_attempt(delivery_id=Delivery.objects.get(alert=alert, channel=channel).pk)
    browser_sign_in(page, "admin@contosopartners.com")

    page.goto(f"{live_server.url}/regions/us/notifications/")
    assert "Ops room" in page.get_by_test_id("failing-channels").inner_text()
    row = page.locator(f"tr[data-channel='{channel.pk}']")
    assert "Could not reach http://127.0.0.1" in row.get_by_test_id("channel-error").inner_text()
    assert "T0SECRETPATH" not in page.content()
    shot(page, "notifications-failing")

    row.get_by_test_id("channel-edit").click()
    page.fill("input[name=name]", "Ops room (old)")
    shot(page, "notifications-edit")
    page.get_by_test_id("channel-save").click()
    page.wait_for_url(f"{live_server.url}/regions/us/notifications/")
    row = page.locator(f"tr[data-channel='{channel.pk}']")
    assert "Ops room (old)" in row.inner_text()
    row.get_by_test_id("channel-pause").click()
    page.wait_for_url(f"{live_server.url}/regions/us/notifications/")
    row = page.locator(f"tr[data-channel='{channel.pk}']")
    assert row.get_by_test_id("channel-paused").count() == 1
    assert row.get_by_test_id("channel-resume").count() == 1
    shot(page, "notifications-paused")
    channel.refresh_from_db()
    assert channel.name == "Ops room (old)" and channel.active is False
