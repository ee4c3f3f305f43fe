"""Writes about notification channels and deliveries: queueing one delivery per active
channel when an alert opens, attempting a delivery, and the admin's create / delete / test."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from alerts.channels import SendFailed, channel_send
from alerts.models import (
    Alert,
    AlertKind,
    ChannelKind,
    Delivery,
    DeliveryStatus,
    NotificationChannel,
)
from audit.services import audit_record
from regions.models import Region

log = logging.getLogger(__name__)


def deliveries_create(*, alerts: Iterable[Alert]) -> list[int]:
    """One pending delivery per newly opened alert and active channel of its region (in the
    caller's transaction); the ids to queue once it commits."""
    created: list[Delivery] = []
    by_region: dict[int, list[NotificationChannel]] = {}
    for alert in alerts:
        if alert.region_id not in by_region:
            by_region[alert.region_id] = list(
                NotificationChannel.objects.filter(region_id=alert.region_id, active=True)
            )
        created += [Delivery(alert=alert, channel=c) for c in by_region[alert.region_id]]
    return [d.pk for d in Delivery.objects.bulk_create(created)]


def delivery_backoff(attempts: int) -> int:
    """Seconds to wait after the `attempts`-th failed attempt: doubling from the base."""
    return settings.ALERT_DELIVERY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)


@dataclass(frozen=True)
class Attempt:
    status: str  # a DeliveryStatus, or "" when there was nothing to do
    retry_in: int | None = None  # seconds, when it failed and may be tried again


def _record(channel: NotificationChannel, error: str) -> None:
    NotificationChannel.objects.filter(pk=channel.pk).update(
        last_delivery_at=timezone.now(), last_error=error
    )


def delivery_attempt(*, delivery_id: int) -> Attempt:
    """Send one delivery once. A sent or failed delivery (or one whose alert or channel is
    gone) does nothing; a failure is recorded on the delivery and the channel and says whether
    to try again. The alert itself is never touched."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("alert__region", "alert__customer", "channel")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return Attempt(status="")
        channel, alert = delivery.channel, delivery.alert
        if channel.region_id != alert.region_id:
            # Never possible through deliveries_create; refuse rather than leak an alert.
            log.warning("delivery %s: channel and alert of different regions", delivery.pk)
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = "The channel belongs to another region than the alert."
            delivery.save(update_fields=["status", "last_error"])
            return Attempt(status=DeliveryStatus.FAILED)
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])
    try:
        channel_send(
            channel=channel,
            alert=alert,
            timeout=settings.ALERT_DELIVERY_TIMEOUT_SECONDS,
            delivery_id=delivery.pk,
        )
    except SendFailed as exc:
        error = str(exc)
        final = delivery.attempts >= settings.ALERT_DELIVERY_MAX_ATTEMPTS
        status = DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
        Delivery.objects.filter(pk=delivery.pk).update(status=status, last_error=error)
        _record(channel, error)
        log.warning(
            "delivery %s of alert %s to %s channel %s (%s) failed, attempt %s: %s",
            delivery.pk,
            alert.pk,
            channel.kind,
            channel.pk,
            channel.target_display if channel.is_webhook else "e-mail",
            delivery.attempts,
            error,
        )
        return Attempt(
            status=status, retry_in=None if final else delivery_backoff(delivery.attempts)
        )
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, sent_at=now, last_error=""
    )
    NotificationChannel.objects.filter(pk=channel.pk).update(last_delivery_at=now, last_error="")
    return Attempt(status=DeliveryStatus.SENT)


def channel_create(
    *,
    region: Region,
    kind: str,
    name: str,
    target: str,
    user: User,
    request: HttpRequest | None = None,
) -> tuple[NotificationChannel, str]:
    """Store a channel of `region`, audited; with the signing secret of a webhook_json
    channel (to show once), else ""."""
    channel = NotificationChannel(region=region, kind=kind, name=name)
    channel.set_target(target)
    secret = ""
    if kind == ChannelKind.WEBHOOK_JSON:
        secret = secrets.token_urlsafe(32)
        channel.set_secret(secret)
    with transaction.atomic():
        channel.save()
        audit_record(
            action="alert.channel_create",
            request=request,
            user=user,
            region=region.slug,
            detail={"channel": channel.pk, "kind": kind, "name": name},
        )
    return channel, secret


def channel_delete(
    *, channel: NotificationChannel, user: User, request: HttpRequest | None = None
) -> None:
    """Delete a channel and its deliveries (the alerts stay), audited."""
    with transaction.atomic():
        audit_record(
            action="alert.channel_delete",
            request=request,
            user=user,
            region=channel.region.slug,
            detail={"channel": channel.pk, "kind": channel.kind, "name": channel.name},
        )
        channel.delete()


def _sample_alert(region: Region) -> Alert:
    now = timezone.now()
    return Alert(
        pk=0,
        region=region,
        kind=AlertKind.SWEEP_FAILING,
        key="test",
        title=f"Test notification from the CSP portal for {region.name}",
        detail={"test": True},
        opened_at=now,
        last_seen_at=now,
    )


def channel_test(
    *, channel: NotificationChannel, user: User, request: HttpRequest | None = None
) -> tuple[bool, str]:
    """Send a sample alert to `channel` now, with a short timeout, audited: whether it was
    sent, and a sentence saying so (recorded on the channel like a delivery)."""
    try:
        channel_send(
            channel=channel,
            alert=_sample_alert(channel.region),
            timeout=settings.ALERT_TEST_TIMEOUT_SECONDS,
        )
    except SendFailed as exc:
        error = str(exc)
        outcome = f"The test to {channel.name} failed: {error}"
    else:
        error = ""
        outcome = f"The test was sent to {channel.name}. Check that it arrived."
    _record(channel, error)
    audit_record(
        action="alert.channel_test",
        request=request,
        user=user,
        region=channel.region.slug,
        detail={"channel": channel.pk, "kind": channel.kind, "sent": not error, "error": error},
    )
    return not error, outcome
