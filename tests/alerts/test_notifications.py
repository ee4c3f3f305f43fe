"""Notifications: an alert that opens is sent once to each active channel of its region (e-mail,
a signed JSON webhook, Teams, Slack), retried with backoff and finally marked failed without
touching the alert; region admins manage their own region's channels only."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import pytest
from django.core import mail

from alerts.channels import signature, slack_message, teams_message
from alerts.models import Alert, ChannelKind, Delivery, DeliveryStatus, NotificationChannel
from alerts.notifications import delivery_backoff
from alerts.services import alerts_evaluate
from alerts.tasks import alert_deliver
from audit.models import AuditEvent
from tests.alerts.support import alert_opened, channel_make, closed_port
from tests.factories import client_for

pytestmark = pytest.mark.django_db


def test_an_alert_that_opens_creates_one_delivery_per_active_channel_and_a_second_evaluation_none(
    own_region, own_customer, other_region, record_sweep, django_capture_on_commit_callbacks
):
    mail_channel, _ = channel_make(own_region, ChannelKind.EMAIL, "noc@contoso.example")
    hook, _ = channel_make(own_region, ChannelKind.SLACK, "https://hooks.slack.com/services/x")
    off, _ = channel_make(own_region, ChannelKind.EMAIL, "off@contoso.example")
    off.active = False
    off.save()
    channel_make(other_region, ChannelKind.EMAIL, "eu@contoso.example")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        alert = alert_opened(own_region, own_customer, record_sweep)
    deliveries = Delivery.objects.filter(alert=alert)
    assert {d.channel_id for d in deliveries} == {mail_channel.pk, hook.pk}
    assert Delivery.objects.count() == Alert.objects.count() * 2
    assert len(queued) == Delivery.objects.count()
    with django_capture_on_commit_callbacks(execute=False) as again:
        alerts_evaluate(region=own_region)
    assert again == [] and Delivery.objects.count() == Alert.objects.count() * 2


def test_an_email_delivery_goes_to_the_outbox_with_the_title_and_is_marked_sent(
    own_region, own_customer, record_sweep
):
    channel, _ = channel_make(
        own_region, ChannelKind.EMAIL, "noc@contoso.example, b@contoso.example"
    )
    alert = alert_opened(own_region, own_customer, record_sweep)
    delivery = Delivery.objects.get(alert=alert, channel=channel)
    alert_deliver.apply(args=[delivery.pk])
    [message] = [m for m in mail.outbox if alert.title in m.subject]
    assert message.to == ["noc@contoso.example", "b@contoso.example"]
    assert own_customer.name in message.body
    delivery.refresh_from_db()
    channel.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1 and delivery.sent_at
    assert channel.last_delivery_at and channel.last_error == ""
    # Delivered once: running the task again (a redelivered message) sends nothing more.
    sent = len(mail.outbox)
    alert_deliver.apply(args=[delivery.pk])
    assert len(mail.outbox) == sent


def test_a_signed_webhook_delivery_verifies_against_its_hmac_and_timestamp(
    own_region, own_customer, record_sweep, receiver
):
    channel, secret = channel_make(own_region, ChannelKind.WEBHOOK_JSON, receiver.url)
    assert secret and channel.secret == secret and secret not in channel.secret_encrypted
    alert = alert_opened(own_region, own_customer, record_sweep)
    delivery = Delivery.objects.get(alert=alert, channel=channel)
    alert_deliver.apply(args=[delivery.pk])
    [(headers, body)] = receiver.requests
    timestamp = headers["X-Portal-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(headers["X-Portal-Signature"], "sha256=" + expected.hexdigest())
    assert abs(int(timestamp) - time.time()) < 60
    # The timestamp is part of what is signed: the same body at another time does not verify.
    assert signature(secret, str(int(timestamp) + 1), body) != headers["X-Portal-Signature"]
    document = json.loads(body)["alert"]
    assert document["id"] == alert.pk and document["title"] == alert.title
    assert document["region"] == "us" and document["state"] == "open"
    assert document["customer"] == {
        "name": own_customer.name,
        "tenant_id": str(own_customer.tenant_id),
    }
    assert document["detail"]["rate_pct"] == 50.0 and document["opened_at"]
    assert headers["X-Portal-Delivery"] == str(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


def test_teams_and_slack_get_their_incoming_webhook_formats(
    own_region, own_customer, record_sweep, receiver
):
    teams, _ = channel_make(own_region, ChannelKind.TEAMS, receiver.url)
    slack, _ = channel_make(own_region, ChannelKind.SLACK, receiver.url + "/slack")
    alert = alert_opened(own_region, own_customer, record_sweep)
    for channel in (teams, slack):
        alert_deliver.apply(args=[Delivery.objects.get(alert=alert, channel=channel).pk])
    bodies = [json.loads(body) for _, body in receiver.requests]
    card = next(b for b in bodies if b.get("type") == "message")
    attachment = card["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"
    assert attachment["content"]["body"][0]["text"] == alert.title
    posted = next(b for b in bodies if "blocks" in b)
    assert posted["text"] == alert.title and posted == slack_message(alert)
    assert card == json.loads(json.dumps(teams_message(alert)))


def test_the_backoff_doubles_from_its_base(settings):
    settings.ALERT_DELIVERY_BACKOFF_SECONDS = 30
    assert [delivery_backoff(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]


@pytest.mark.parametrize("failure", ["http 500", "closed port"])
def test_a_failing_channel_is_retried_then_marked_failed_and_the_alert_stays_open(
    failure, own_region, own_customer, own_admin, record_sweep, receiver, settings
):
    settings.ALERT_DELIVERY_MAX_ATTEMPTS = 3
    receiver.status = 500
    url = receiver.url if failure == "http 500" else f"http://127.0.0.1:{closed_port()}/hook"
    channel, _ = channel_make(own_region, ChannelKind.TEAMS, url, name="Ops room")
    alert = alert_opened(own_region, own_customer, record_sweep)
    delivery = Delivery.objects.get(alert=alert, channel=channel)
    result = alert_deliver.apply(args=[delivery.pk])
    assert result.get() == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    if failure == "http 500":
        assert len(receiver.requests) == 3 and "answered HTTP 500" in delivery.last_error
    else:
        assert "Could not reach http://127.0.0.1" in delivery.last_error
    assert "T0SECRETPATH" not in delivery.last_error and "/hook" not in delivery.last_error
    alert.refresh_from_db()
    assert alert.state == "open"
    page = client_for(own_admin).get("/regions/us/notifications/").content.decode()
    assert delivery.last_error in page.replace("&#x27;", "'")
    assert f'data-alert="{alert.pk}"' in client_for(own_admin).get("/alerts/").content.decode()


def test_a_channel_and_an_alert_of_different_regions_are_never_sent(
    own_region, own_customer, other_region, record_sweep
):
    alert = alert_opened(own_region, own_customer, record_sweep)
    theirs, _ = channel_make(other_region, ChannelKind.EMAIL, "eu@contoso.example")
    delivery = Delivery.objects.create(alert=alert, channel=theirs)
    alert_deliver.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and mail.outbox == []


def test_an_admin_adds_a_channel_and_sees_the_signing_secret_once_and_never_in_the_logs(
    own_region, own_admin, caplog, receiver
):
    caplog.set_level(logging.DEBUG)
    client = client_for(own_admin)
    response = client.post(
        "/regions/us/notifications/",
        {"kind": "webhook_json", "name": "PSA", "target": receiver.url},
        follow=True,
    )
    channel = NotificationChannel.objects.get(region=own_region, name="PSA")
    page = response.content.decode()
    assert 'data-testid="new-secret"' in page and channel.secret in page
    assert "T0SECRETPATH" not in page
    again = client.get("/regions/us/notifications/").content.decode()
    assert channel.secret not in again and 'data-testid="new-secret"' not in again
    tested = client.post(f"/regions/us/notifications/{channel.pk}/test/", follow=True)
    assert "The test was sent to PSA" in tested.content.decode()
    [(headers, body)] = receiver.requests
    assert headers["X-Portal-Signature"] == signature(
        channel.secret, headers["X-Portal-Timestamp"], body
    )
    logged = caplog.text + json.dumps([e.detail for e in AuditEvent.objects.all()])
    assert channel.secret not in logged and "T0SECRETPATH" not in logged
    assert AuditEvent.objects.filter(action="alert.channel_create").exists()


@pytest.mark.parametrize(
    ("kind", "target", "error"),
    [
        ("email", "noc@contoso.example, not-an-address", "not-an-address is not an e-mail"),
        ("slack", "ftp://hooks.example/x", "full http:// or https:// URL"),
        ("teams", "https://169.254.169.254/latest", "loopback, private or reserved"),
    ],
)
def test_the_form_refuses_bad_addresses_and_urls(kind, target, error, own_admin, settings):
    if kind == "teams":
        settings.ALERT_WEBHOOK_ALLOW_PRIVATE_HOSTS = False
        error = "loopback, private or reserved"
    response = client_for(own_admin).post(
        "/regions/us/notifications/", {"kind": kind, "name": "x", "target": target}
    )
    assert response.status_code == 400 and error in response.content.decode()
    assert not NotificationChannel.objects.exists()


def test_a_webhook_to_a_private_address_is_refused_when_sending_unless_allowed(
    own_region, own_customer, record_sweep, receiver, settings
):
    channel, _ = channel_make(own_region, ChannelKind.SLACK, receiver.url)
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    settings.ALERT_DELIVERY_MAX_ATTEMPTS = 1
    alert = alert_opened(own_region, own_customer, record_sweep)
    delivery = Delivery.objects.get(alert=alert, channel=channel)
    alert_deliver.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and receiver.requests == []
    assert "https://" in delivery.last_error


def test_send_test_sends_an_email_now_and_is_audited(own_region, own_admin):
    channel, _ = channel_make(own_region, ChannelKind.EMAIL, "noc@contoso.example", admin=own_admin)
    response = client_for(own_admin).post(
        f"/regions/us/notifications/{channel.pk}/test/", follow=True
    )
    assert "The test was sent to" in response.content.decode()
    [message] = mail.outbox
    assert "Test notification" in message.subject and message.to == ["noc@contoso.example"]
    event = AuditEvent.objects.get(action="alert.channel_test")
    assert event.detail["channel"] == channel.pk and event.detail["sent"] is True


def test_a_failing_send_test_says_why_in_a_sentence(own_region, own_admin):
    url = f"http://127.0.0.1:{closed_port()}/hook"
    channel, _ = channel_make(own_region, ChannelKind.SLACK, url, admin=own_admin, name="Slack")
    page = (
        client_for(own_admin)
        .post(f"/regions/us/notifications/{channel.pk}/test/", follow=True)
        .content.decode()
    )
    assert "The test to Slack failed: Could not reach http://127.0.0.1" in page
    assert AuditEvent.objects.get(action="alert.channel_test").detail["sent"] is False


def test_deleting_needs_the_confirmation_and_is_audited(own_region, own_admin):
    channel, _ = channel_make(own_region, ChannelKind.EMAIL, "noc@contoso.example", admin=own_admin)
    client = client_for(own_admin)
    client.post(f"/regions/us/notifications/{channel.pk}/delete/")
    assert NotificationChannel.objects.filter(pk=channel.pk).exists()
    client.post(f"/regions/us/notifications/{channel.pk}/delete/", {"confirm": "yes"})
    assert not NotificationChannel.objects.filter(pk=channel.pk).exists()
    assert AuditEvent.objects.filter(action="alert.channel_delete").exists()


def test_another_regions_admin_cannot_see_test_or_delete_a_channel(
    own_region, other_region, other_admin
):
    channel, _ = channel_make(own_region, ChannelKind.EMAIL, "noc@contoso.example", name="US NOC")
    client = client_for(other_admin)
    assert client.get("/regions/us/notifications/").status_code == 404
    assert client.post(f"/regions/us/notifications/{channel.pk}/test/").status_code == 404
    confirm = {"confirm": "yes"}
    assert (
        client.post(f"/regions/us/notifications/{channel.pk}/delete/", confirm).status_code == 404
    )
    # Through their own region's URL, the channel of "us" is not there either.
    assert client.post(f"/regions/eu/notifications/{channel.pk}/test/").status_code == 404
    assert (
        client.post(f"/regions/eu/notifications/{channel.pk}/delete/", confirm).status_code == 404
    )
    assert "US NOC" not in client.get("/regions/eu/notifications/").content.decode()
    assert NotificationChannel.objects.filter(pk=channel.pk).exists() and mail.outbox == []


def test_a_webhook_that_redirects_is_not_followed_and_the_delivery_fails(
    own_region, own_customer, record_sweep, receiver, settings
):
    settings.ALERT_DELIVERY_MAX_ATTEMPTS = 1
    receiver.status = 307
    channel, _ = channel_make(own_region, ChannelKind.WEBHOOK_JSON, receiver.url)
    alert = alert_opened(own_region, own_customer, record_sweep)
    delivery = Delivery.objects.get(alert=alert, channel=channel)
    alert_deliver.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    channel.refresh_from_db()
    assert len(receiver.requests) == 1 and delivery.status == DeliveryStatus.FAILED
    assert "answered with a redirect (HTTP 307)" in channel.last_error
