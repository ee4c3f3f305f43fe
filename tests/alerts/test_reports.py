"""The weekly compliance report to each region's active channels: built from stored sweeps,
sent once per channel and ISO week (a second run sends nothing again), a signed JSON webhook
verified like an alert's, a failing channel retried with backoff, then failed and shown."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core import mail

from accounts.models import Role
from alerts.models import ChannelKind, DeliveryStatus
from alerts.report_models import ReportDelivery
from alerts.report_tasks import compliance_report_weekly
from alerts.reports import report_delivery_attempt, report_slack_message, report_teams_message
from compliance.report import report_period
from portal.celery import app
from tests.alerts.support import channel_make, closed_port
from tests.factories import client_for, user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager() -> Iterator[None]:
    """Tasks queued with .delay() run in the test's process (as a worker would run them)."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def weekly(django_capture_on_commit_callbacks, eager):
    """Run the weekly task as beat would, and the deliveries it queues."""

    def _run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return compliance_report_weekly.apply().get()

    return _run


def _verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    timestamp = headers["X-Portal-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    fresh = abs(int(timestamp) - time.time()) < 300
    return fresh and hmac.compare_digest(
        headers["X-Portal-Signature"], "sha256=" + expected.hexdigest()
    )


def test_the_weekly_task_sends_the_report_once_per_channel_and_week_signed_like_an_alert(
    own_region, own_customer, other_region, other_customer, record_sweep, receiver, weekly
):
    record_sweep(own_customer, 70)
    record_sweep(other_customer, 95)
    hook, secret = channel_make(own_region, ChannelKind.WEBHOOK_JSON, receiver.url + "/psa")
    channel_make(own_region, ChannelKind.TEAMS, receiver.url + "/teams")
    channel_make(own_region, ChannelKind.SLACK, receiver.url + "/slack")
    channel_make(own_region, ChannelKind.EMAIL, "noc@contoso.example")
    off, _ = channel_make(own_region, ChannelKind.EMAIL, "off@contoso.example")
    off.active = False
    off.save()
    theirs, _ = channel_make(other_region, ChannelKind.EMAIL, "eu@contoso.example")

    assert weekly() == 5

    period = report_period(ReportDelivery.objects.first().created_at)[0]
    assert ReportDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 5
    assert not ReportDelivery.objects.filter(channel=off).exists()
    assert len(receiver.requests) == 3
    [(headers, body)] = [(h, b) for h, b in receiver.requests if "X-Portal-Signature" in h]
    assert _verified(secret, headers, body)
    document = json.loads(body)
    assert document["type"] == "compliance_report"
    report = document["report"]
    assert report["period"] == period and report["region_slug"] == "us"
    assert report["now"]["rate_pct"] == 70.0
    assert [c["name"] for c in report["worst"]] == [own_customer.name]
    assert other_customer.name not in body.decode()
    delivery = ReportDelivery.objects.get(channel=hook)
    assert headers["X-Portal-Delivery"] == f"report-{delivery.pk}"
    bodies = [json.loads(b) for _, b in receiver.requests]
    assert report_teams_message(report) in bodies and report_slack_message(report) in bodies
    us_mail = next(m for m in mail.outbox if m.to == ["noc@contoso.example"])
    assert period in us_mail.subject and "70.0%" in us_mail.body
    eu_mail = next(m for m in mail.outbox if m.to == ["eu@contoso.example"])
    assert "95.0%" in eu_mail.body and own_customer.name not in eu_mail.body
    assert ReportDelivery.objects.get(channel=theirs).document["region_slug"] == "eu"

    # The same week again (beat twice, a redelivered message): nothing is sent twice.
    sent, mails = len(receiver.requests), len(mail.outbox)
    assert weekly() == 0
    assert len(receiver.requests) == sent and len(mail.outbox) == mails
    assert ReportDelivery.objects.count() == 5


@pytest.mark.parametrize("failure", ["http 500", "closed port"])
def test_a_failing_channel_is_retried_then_marked_failed_and_shown_to_the_admin(
    failure, own_region, own_customer, record_sweep, receiver, weekly, settings
):
    settings.ALERT_DELIVERY_MAX_ATTEMPTS = 3
    receiver.status = 500
    url = receiver.url if failure == "http 500" else f"http://127.0.0.1:{closed_port()}/hook"
    record_sweep(own_customer, 60)
    channel, _ = channel_make(own_region, ChannelKind.TEAMS, url, name="Ops room")

    weekly()

    delivery = ReportDelivery.objects.get(channel=channel)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    if failure == "http 500":
        assert len(receiver.requests) == 3 and "answered HTTP 500" in delivery.last_error
    else:
        assert "Could not reach http://127.0.0.1" in delivery.last_error
    assert "T0SECRETPATH" not in delivery.last_error and "/hook" not in delivery.last_error
    channel.refresh_from_db()
    assert channel.last_error.startswith(f"The weekly report {delivery.period} was not sent")
    admin = client_for(user_make(region=own_region, role=Role.ADMIN))
    page = admin.get("/regions/us/notifications/").content.decode().replace("&#x27;", "'")
    assert channel.last_error in page
    sends = admin.get("/regions/us/notifications/reports/").content.decode()
    row = sends.split('data-testid="report-delivery" data-status="failed"', 1)[1].split("</tr>")[0]
    assert "Ops room" in row and delivery.period in sends
    assert delivery.last_error in row.replace("&#x27;", "'")
    # A failed week is not sent again by the next run of that week.
    tries = len(receiver.requests)
    weekly()
    assert len(receiver.requests) == tries


def test_a_failed_attempt_waits_its_backoff_and_the_next_one_sends(
    own_region, own_customer, record_sweep, receiver, django_capture_on_commit_callbacks, settings
):
    settings.ALERT_DELIVERY_BACKOFF_SECONDS = 30
    receiver.status = 503
    record_sweep(own_customer, 60)
    channel, _ = channel_make(own_region, ChannelKind.SLACK, receiver.url)
    with django_capture_on_commit_callbacks(execute=False):
        compliance_report_weekly.apply()
    delivery = ReportDelivery.objects.get(channel=channel)

    first = report_delivery_attempt(delivery_id=delivery.pk)
    assert first.status == DeliveryStatus.PENDING and first.retry_in == 30
    receiver.status = 200
    second = report_delivery_attempt(delivery_id=delivery.pk)

    assert second.status == DeliveryStatus.SENT
    delivery.refresh_from_db()
    channel.refresh_from_db()
    assert delivery.attempts == 2 and delivery.sent_at and delivery.last_error == ""
    assert channel.last_error == ""
    assert report_delivery_attempt(delivery_id=delivery.pk).status == ""  # sent: never again
    assert len(receiver.requests) == 2


def test_the_report_is_scheduled_monday_0700_utc_by_default():
    entry = django_settings.CELERY_BEAT_SCHEDULE["compliance-report-weekly"]
    assert entry["task"] == "alerts.report_tasks.compliance_report_weekly"
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule.minute == {0} and schedule.hour == {7} and schedule.day_of_week == {1}
    assert "alerts.report_tasks" in django_settings.CELERY_IMPORTS


def _wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"still waiting after {timeout} s: {list(ReportDelivery.objects.all())}")


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_weekly_report_to_a_signed_webhook_once(
    celery_worker_process, own_region, own_customer, record_sweep, receiver
):
    """The worker finds the task through CELERY_IMPORTS, as beat's schedule names it."""
    record_sweep(own_customer, 70)
    _, secret = channel_make(own_region, ChannelKind.WEBHOOK_JSON, receiver.url)

    compliance_report_weekly.delay()
    _wait_for(lambda: ReportDelivery.objects.filter(status=DeliveryStatus.SENT).exists())

    [(headers, body)] = receiver.requests
    assert _verified(secret, headers, body)
    assert json.loads(body)["report"]["now"]["rate_pct"] == 70.0
    compliance_report_weekly.delay()  # beat again the same week
    time.sleep(3)
    assert len(receiver.requests) == 1 and ReportDelivery.objects.count() == 1
