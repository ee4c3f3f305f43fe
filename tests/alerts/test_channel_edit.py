"""A region's admin edits a channel (name, target, a signed webhook's secret), pauses and resumes
it, every change audited with before and after and never the webhook URL or secret; a failing
channel is shown with its last error and when."""

from __future__ import annotations

import json
import logging

import pytest
from django.core import mail

from accounts.models import Role
from alerts.channels import signature
from alerts.models import ChannelKind, Delivery, DeliveryStatus, NotificationChannel
from alerts.notifications import delivery_attempt
from alerts.services import alerts_evaluate
from audit.models import AuditEvent
from tests.alerts.support import alert_opened, channel_make, closed_port
from tests.factories import client_for, customer_make, user_make

pytestmark = pytest.mark.django_db


def edit(client, channel, **data):
    return client.post(f"/regions/us/notifications/{channel.pk}/edit/", data, follow=True)


def test_an_admin_renames_an_email_channel_and_changes_its_addresses_audited(own_region, own_admin):
    channel, _ = channel_make(own_region, ChannelKind.EMAIL, "noc@contoso.example", name="NOC")
    client = client_for(own_admin)
    form = client.get(f"/regions/us/notifications/{channel.pk}/edit/").content.decode()
    assert 'value="noc@contoso.example"' in form and 'name="rotate_secret"' not in form
    page = edit(client, channel, name="Night desk", target="a@contoso.example; b@contoso.example")
    assert "Channel Night desk saved." in page.content.decode()
    channel.refresh_from_db()
    assert channel.name == "Night desk" and channel.target == "a@contoso.example, b@contoso.example"
    event = AuditEvent.objects.get(action="alert.channel_update")
    assert event.detail["before"] == {
        "name": "NOC",
        "target_display": "noc@contoso.example",
        "active": True,
    }
    assert event.detail["after"]["name"] == "Night desk"
    assert event.detail["after"]["target_display"] == "a@contoso.example, b@contoso.example"
    assert event.detail["target_changed"] is True and event.detail["secret_rotated"] is False
    assert event.user_id == own_admin.pk and event.region == "us"


def test_a_webhooks_url_is_never_shown_back_and_a_blank_one_keeps_it(
    own_region, own_admin, receiver
):
    channel, _ = channel_make(own_region, ChannelKind.TEAMS, receiver.url, name="Ops")
    client = client_for(own_admin)
    form = client.get(f"/regions/us/notifications/{channel.pk}/edit/").content.decode()
    assert "T0SECRETPATH" not in form and "http://127.0.0.1/…" in form
    edit(client, channel, name="Ops room", target="")
    channel.refresh_from_db()
    assert channel.name == "Ops room" and channel.target == receiver.url
    event = AuditEvent.objects.get(action="alert.channel_update")
    assert event.detail["changes"] == {"name": ["Ops", "Ops room"]}
    assert event.detail["target_changed"] is False


def test_a_new_webhook_url_is_audited_by_its_host_only_and_used_from_then_on(
    own_region, own_admin, receiver, caplog
):
    caplog.set_level(logging.DEBUG)
    channel, _ = channel_make(
        own_region, ChannelKind.SLACK, f"http://127.0.0.1:{closed_port()}/old/T0OLDPATH"
    )
    edit(client_for(own_admin), channel, name=channel.name, target=receiver.url)
    channel.refresh_from_db()
    assert channel.target == receiver.url
    event = AuditEvent.objects.get(action="alert.channel_update")
    assert event.detail["target_changed"] is True
    logged = caplog.text + json.dumps(event.detail)
    assert "T0SECRETPATH" not in logged and "T0OLDPATH" not in logged
    sent = client_for(own_admin).post(f"/regions/us/notifications/{channel.pk}/test/", follow=True)
    assert "The test was sent" in sent.content.decode() and len(receiver.requests) == 1


def test_rotating_a_signed_webhooks_secret_shows_the_new_one_once_and_signs_with_it(
    own_region, own_admin, receiver, caplog
):
    caplog.set_level(logging.DEBUG)
    channel, old_secret = channel_make(own_region, ChannelKind.WEBHOOK_JSON, receiver.url)
    client = client_for(own_admin)
    page = edit(client, channel, name=channel.name, target="", rotate_secret="on")
    channel.refresh_from_db()
    new_secret = channel.secret
    assert new_secret and new_secret != old_secret
    html = page.content.decode()
    assert 'data-testid="new-secret"' in html and new_secret in html
    assert new_secret not in client.get("/regions/us/notifications/").content.decode()
    client.post(f"/regions/us/notifications/{channel.pk}/test/")
    [(headers, body)] = receiver.requests
    assert headers["X-Portal-Signature"] == signature(
        new_secret, headers["X-Portal-Timestamp"], body
    )
    assert headers["X-Portal-Signature"] != signature(
        old_secret, headers["X-Portal-Timestamp"], body
    )
    event = AuditEvent.objects.get(action="alert.channel_update")
    assert event.detail["secret_rotated"] is True
    logged = caplog.text + json.dumps([e.detail for e in AuditEvent.objects.all()])
    for secret in (old_secret, new_secret, "T0SECRETPATH"):
        assert secret not in logged


def test_saving_an_unchanged_channel_changes_and_audits_nothing(own_region, own_admin):
    channel, _ = channel_make(own_region, ChannelKind.EMAIL, "noc@contoso.example", name="NOC")
    page = edit(client_for(own_admin), channel, name="NOC", target="noc@contoso.example")
    assert "Nothing changed in NOC." in page.content.decode()
    assert not AuditEvent.objects.filter(action="alert.channel_update").exists()


@pytest.mark.parametrize(
    ("kind", "data", "field", "error"),
    [
        ("email", {"name": "x", "target": ""}, "target", "This field is required."),
        ("email", {"name": "x", "target": "nobody"}, "target", "nobody is not an e-mail"),
        ("slack", {"name": "x", "target": "ftp://h.example/x"}, "target", "full http:// or"),
        ("slack", {"name": "", "target": ""}, "name", "This field is required."),
    ],
)
def test_the_edit_form_refuses_bad_input_with_a_sentence_and_saves_nothing(
    kind, data, field, error, own_region, own_admin
):
    target = "noc@contoso.example" if kind == "email" else "https://hooks.slack.com/services/x"
    channel, _ = channel_make(own_region, kind, target, name="Before")
    response = client_for(own_admin).post(f"/regions/us/notifications/{channel.pk}/edit/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-testid="error-{field}"' in html and error in html
    channel.refresh_from_db()
    assert channel.name == "Before" and channel.target == target
    assert not AuditEvent.objects.filter(action="alert.channel_update").exists()


def test_a_paused_channel_gets_no_new_alerts_and_its_pending_ones_are_not_sent_until_resumed(
    own_region, own_customer, own_admin, record_sweep
):
    channel, _ = channel_make(own_region, ChannelKind.EMAIL, "noc@contoso.example", name="NOC")
    pending = Delivery.objects.get(
        alert=alert_opened(own_region, own_customer, record_sweep), channel=channel
    )
    client = client_for(own_admin)
    page = client.post(
        f"/regions/us/notifications/{channel.pk}/active/", {"active": "0"}, follow=True
    ).content.decode()
    assert "NOC paused" in page and 'data-testid="channel-paused"' in page
    assert 'data-testid="channel-resume"' in page
    channel.refresh_from_db()
    assert channel.active is False
    event = AuditEvent.objects.get(action="alert.channel_pause")
    assert event.detail["before"]["active"] is True and event.detail["after"]["active"] is False
    assert delivery_attempt(delivery_id=pending.pk).status == DeliveryStatus.FAILED
    pending.refresh_from_db()
    assert "paused" in pending.last_error and mail.outbox == []
    record_sweep(customer_make(region=own_region), 40)
    assert alerts_evaluate(region=own_region).opened == 1
    assert Delivery.objects.filter(channel=channel).count() == 1
    channel.refresh_from_db()
    assert channel.last_error == ""  # not the channel's failure
    # Pausing twice changes nothing more; resuming is audited too.
    again = client.post(f"/regions/us/notifications/{channel.pk}/active/", {"active": "0"})
    assert again.status_code == 302
    assert AuditEvent.objects.filter(action="alert.channel_pause").count() == 1
    client.post(f"/regions/us/notifications/{channel.pk}/active/", {"active": "1"})
    channel.refresh_from_db()
    assert channel.active is True
    resumed = AuditEvent.objects.get(action="alert.channel_resume")
    assert resumed.detail["after"]["active"] is True


def test_a_failing_channel_is_shown_with_its_last_error_and_when(
    own_region, own_customer, own_admin, record_sweep, settings
):
    settings.ALERT_DELIVERY_MAX_ATTEMPTS = 1
    url = f"http://127.0.0.1:{closed_port()}/hooks/T0SECRETPATH"
    channel, _ = channel_make(own_region, ChannelKind.TEAMS, url, name="Ops room")
    channel_make(own_region, ChannelKind.EMAIL, "noc@contoso.example", name="Quiet")
    alert = alert_opened(own_region, own_customer, record_sweep)
    delivery_attempt(delivery_id=Delivery.objects.get(alert=alert, channel=channel).pk)
    channel.refresh_from_db()
    html = client_for(own_admin).get("/regions/us/notifications/").content.decode()
    banner = html.split('data-testid="failing-channels"')[1].split("</div>")[0]
    assert "1 channel failed" in banner and "Ops room" in banner and "Quiet" not in banner
    assert channel.last_delivery_at.strftime("%Y-%m-%d %H:%M") in banner
    row = html.split(f'data-channel="{channel.pk}"')[1].split("</tr>")[0]
    assert 'data-state="failing"' in html and 'data-testid="channel-failing"' in row
    assert "Failed at " + channel.last_delivery_at.strftime("%Y-%m-%d %H:%M") in row
    assert "Could not reach http://127.0.0.1" in row and "1 delivery failed" in row
    assert "T0SECRETPATH" not in html


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER])
def test_an_agent_or_a_manager_cannot_edit_pause_or_resume_a_channel(role, own_region):
    channel, _ = channel_make(own_region, ChannelKind.EMAIL, "noc@contoso.example", name="NOC")
    client = client_for(user_make(region=own_region, role=role))
    base = f"/regions/us/notifications/{channel.pk}"
    assert client.get(f"{base}/edit/").status_code == 403
    assert client.post(f"{base}/edit/", {"name": "Mine"}).status_code == 403
    assert client.post(f"{base}/active/", {"active": "0"}).status_code == 403
    channel.refresh_from_db()
    assert channel.name == "NOC" and channel.active is True
    assert (
        not AuditEvent.objects.filter(action__startswith="alert.channel_")
        .exclude(action="alert.channel_create")
        .exists()
    )


def test_another_regions_admin_gets_404_for_editing_or_pausing_a_channel(own_region, other_admin):
    channel, _ = channel_make(own_region, ChannelKind.EMAIL, "noc@contoso.example", name="NOC")
    client = client_for(other_admin)
    for slug in ("us", "eu"):
        base = f"/regions/{slug}/notifications/{channel.pk}"
        assert client.get(f"{base}/edit/").status_code == 404
        assert client.post(f"{base}/edit/", {"name": "Mine"}).status_code == 404
        assert client.post(f"{base}/active/", {"active": "0"}).status_code == 404
    channel.refresh_from_db()
    assert channel.name == "NOC" and channel.active is True
    assert NotificationChannel.objects.filter(name="Mine").count() == 0
