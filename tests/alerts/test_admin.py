"""Alerts in Django admin: a region admin views their region's alerts, channels, deliveries and
thresholds, changes nothing there, and never sees a channel's webhook URL or signing secret."""

from __future__ import annotations

import pytest

from accounts.models import Role
from alerts.models import ChannelKind, Delivery
from alerts.services import alert_settings_update
from tests.alerts.support import alert_opened, channel_make
from tests.factories import client_for, user_make

pytestmark = pytest.mark.django_db

MODELS = ("alert", "notificationchannel", "delivery", "alertsettings")


def test_a_region_admin_may_view_the_alerts_models_and_change_none(own_admin):
    for model in MODELS:
        assert own_admin.has_perm(f"alerts.view_{model}"), model
        for verb in ("add", "change", "delete"):
            assert not own_admin.has_perm(f"alerts.{verb}_{model}"), (verb, model)


def test_a_manager_has_no_alerts_admin(own_region):
    manager = user_make(region=own_region, role=Role.MANAGER)
    assert not manager.has_module_perms("alerts")
    assert client_for(manager).get("/admin/alerts/delivery/").status_code in (302, 403)


def test_the_admin_lists_show_a_region_admin_their_regions_rows_only(
    own_region, own_customer, other_region, other_customer, own_admin, record_sweep, receiver
):
    mine, _ = channel_make(own_region, ChannelKind.SLACK, receiver.url, name="US hook")
    theirs, _ = channel_make(other_region, ChannelKind.EMAIL, "eu@contoso.example", name="EU NOC")
    us_alert = alert_opened(own_region, own_customer, record_sweep)
    eu_alert = alert_opened(other_region, other_customer, record_sweep)
    alert_settings_update(region=own_region, compliance_below=70, compliance_drop=5, user=own_admin)
    client = client_for(own_admin)
    alerts = client.get("/admin/alerts/alert/").content.decode()
    assert f"/admin/alerts/alert/{us_alert.pk}/" in alerts
    assert f"/admin/alerts/alert/{eu_alert.pk}/" not in alerts
    channels = client.get("/admin/alerts/notificationchannel/").content.decode()
    assert "US hook" in channels and "EU NOC" not in channels
    deliveries = client.get("/admin/alerts/delivery/").content.decode()
    assert f"/admin/alerts/delivery/{Delivery.objects.get(channel=mine).pk}/" in deliveries
    eu_delivery = Delivery.objects.get(channel=theirs)
    assert f"/admin/alerts/delivery/{eu_delivery.pk}/" not in deliveries
    assert client.get("/admin/alerts/alertsettings/").status_code == 200
    # Another region's row by its id: not there (Django admin redirects to its index).
    page = client.get(f"/admin/alerts/alert/{eu_alert.pk}/change/", follow=True).content.decode()
    assert eu_alert.title not in page


def test_a_channel_in_admin_shows_where_it_sends_by_host_never_its_url_or_secret(
    own_region, own_admin, receiver
):
    channel, secret = channel_make(own_region, ChannelKind.WEBHOOK_JSON, receiver.url, name="PSA")
    client = client_for(own_admin)
    for path in (
        "/admin/alerts/notificationchannel/",
        f"/admin/alerts/notificationchannel/{channel.pk}/change/",
    ):
        html = client.get(path).content.decode()
        assert "PSA" in html and "http://127.0.0.1/…" in html, path
        for hidden in ("T0SECRETPATH", secret, channel.secret_encrypted, channel.target_encrypted):
            assert hidden not in html, path


def test_a_delivery_cannot_be_changed_or_deleted_even_by_a_global_admin(
    own_region, own_customer, record_sweep
):
    channel, _ = channel_make(own_region, ChannelKind.EMAIL, "noc@contoso.example")
    delivery = Delivery.objects.get(
        alert=alert_opened(own_region, own_customer, record_sweep), channel=channel
    )
    client = client_for(user_make(region=own_region, role=Role.GLOBAL_ADMIN))
    view = client.get(f"/admin/alerts/delivery/{delivery.pk}/change/")
    assert view.status_code == 200 and 'name="_save"' not in view.content.decode()
    changed = client.post(
        f"/admin/alerts/delivery/{delivery.pk}/change/", {"status": "sent", "attempts": 9}
    )
    assert changed.status_code == 403
    assert (
        client.post(f"/admin/alerts/delivery/{delivery.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 0
