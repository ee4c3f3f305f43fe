"""Writes about notification channels and deliveries: queueing one delivery per active
channel when an alert opens, claiming and attempting a delivery, finding the stuck ones, and
the admin's create / edit / pause / resume / delete / test."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
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
from audit.changes import field_changes, field_snapshot
from audit.services import audit_record
from portal.runs import LeaseLost, fenced_update, row_compare_and_set
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


def delivery_lease_seconds() -> int:
    """How long a claimed attempt keeps other workers off: well past the send's own timeout."""
    return max(
        settings.ALERT_DELIVERY_LEASE_SECONDS, int(4 * settings.ALERT_DELIVERY_TIMEOUT_SECONDS)
    )


def _claim(delivery_id: int) -> Delivery | None:
    """Claim the next attempt of a pending delivery no live worker holds. A compare-and-set
    on (status, attempts, claimed_until) decides between two workers given the same delivery
    id (a redelivered message and the watch's copy), on SQLite too: the row is the record,
    not the message. None: sent, failed, gone, or another worker is on it (and owns its
    retries)."""
    delivery = (
        Delivery.objects.select_related("alert__region", "alert__customer", "channel")
        .filter(pk=delivery_id)
        .first()
    )
    now = timezone.now()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    if delivery.claimed_until is not None and delivery.claimed_until >= now:
        return None
    won = row_compare_and_set(
        delivery,
        expect=("status", "attempts", "claimed_until"),
        attempts=delivery.attempts + 1,
        claimed_until=now + timedelta(seconds=delivery_lease_seconds()),
    )
    return delivery if won else None


def _settle(delivery: Delivery, **fields: object) -> bool:
    """Record the outcome of the attempt this worker claimed, unless another worker has
    claimed a later one since (our lease ran out): the attempts counter fences it."""
    fence = Delivery.objects.filter(
        pk=delivery.pk, attempts=delivery.attempts, status=DeliveryStatus.PENDING
    )
    try:
        fenced_update(fence, claimed_until=None, **fields)
    except LeaseLost:
        log.warning("delivery %s was taken over by another worker", delivery.pk)
        return False
    return True


def delivery_attempt(*, delivery_id: int) -> Attempt:
    """Send one delivery once. A sent or failed delivery (or one whose alert or channel is
    gone, or that another worker is sending) does nothing; one not due yet says when it is;
    a failure is recorded on the delivery and the channel and says whether to try again. The
    alert itself is never touched."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return Attempt(status="")
    channel, alert = delivery.channel, delivery.alert
    if channel.region_id != alert.region_id:
        # Never possible through deliveries_create; refuse rather than leak an alert.
        log.warning("delivery %s: channel and alert of different regions", delivery.pk)
        _settle(
            delivery,
            status=DeliveryStatus.FAILED,
            last_error="The channel belongs to another region than the alert.",
        )
        return Attempt(status=DeliveryStatus.FAILED)
    if not channel.active:
        # Paused after the alert opened: not sent, and not the channel's failure either.
        _settle(
            delivery,
            status=DeliveryStatus.FAILED,
            last_error="Not sent: the channel was paused before it could be sent.",
        )
        return Attempt(status=DeliveryStatus.FAILED)
    if delivery.attempts > settings.ALERT_DELIVERY_MAX_ATTEMPTS:
        # The last attempt's worker died before recording its outcome; the watch sent it again.
        _settle(
            delivery,
            status=DeliveryStatus.FAILED,
            last_error=delivery.last_error
            or "Not sent: the worker sending it stopped, too many times.",
        )
        return Attempt(status=DeliveryStatus.FAILED)
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
        retry_in = None if final else delivery_backoff(delivery.attempts)
        due_at = timezone.now() + timedelta(seconds=retry_in or 0)
        if not _settle(delivery, status=status, last_error=error, due_at=due_at):
            return Attempt(status="")  # another worker took over meanwhile; it decides
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
        return Attempt(status=status, retry_in=retry_in)
    now = timezone.now()
    _settle(delivery, status=DeliveryStatus.SENT, sent_at=now, last_error="")
    NotificationChannel.objects.filter(pk=channel.pk).update(last_delivery_at=now, last_error="")
    return Attempt(status=DeliveryStatus.SENT)


def deliveries_stuck(*, limit: int = 500) -> list[int]:
    """Pending deliveries nobody is sending and whose attempt is overdue by
    ALERT_DELIVERY_STUCK_SECONDS (the worker died, or the broker lost the message), marked
    as queued now so that the next watch waits as long again before sending them once more."""
    now = timezone.now()
    overdue = now - timedelta(seconds=settings.ALERT_DELIVERY_STUCK_SECONDS)
    stuck = Q(status=DeliveryStatus.PENDING, due_at__lte=overdue) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    # A paused channel's too: its attempt marks it not sent, rather than pending for ever.
    ids = list(
        Delivery.objects.filter(stuck).order_by("due_at").values_list("pk", flat=True)[:limit]
    )
    # Conditional like the claim: a delivery claimed since the select is not touched.
    Delivery.objects.filter(stuck, pk__in=ids).update(due_at=now)
    return list(Delivery.objects.filter(pk__in=ids, due_at=now).values_list("pk", flat=True))


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


# What an audit entry may say about a channel: its target only as target_display (a webhook
# URL is a credential) and its secret not at all, only whether it was replaced.
CHANNEL_AUDIT_FIELDS = ("name", "target_display", "active")


@dataclass(frozen=True)
class ChannelUpdate:
    changed: bool
    secret: str = ""  # a webhook_json channel's new signing secret, to show once


def channel_update(
    *,
    channel: NotificationChannel,
    name: str,
    target: str,
    rotate_secret: bool,
    user: User,
    request: HttpRequest | None = None,
) -> ChannelUpdate:
    """Rename a channel, point it elsewhere (`target` "" keeps it) and, for a signed JSON
    webhook, replace its signing secret; audited with before and after."""
    with transaction.atomic():
        channel = NotificationChannel.objects.select_for_update().get(pk=channel.pk)
        before = field_snapshot(channel, CHANNEL_AUDIT_FIELDS)
        target_changed = bool(target) and target != channel.target
        channel.name = name
        if target_changed:
            channel.set_target(target)
        secret = ""
        if rotate_secret and channel.kind == ChannelKind.WEBHOOK_JSON:
            secret = secrets.token_urlsafe(32)
            channel.set_secret(secret)
        after = field_snapshot(channel, CHANNEL_AUDIT_FIELDS)
        if before == after and not target_changed and not secret:
            return ChannelUpdate(changed=False)
        channel.save(update_fields=["name", "target_encrypted", "secret_encrypted"])
        audit_record(
            action="alert.channel_update",
            request=request,
            user=user,
            region=channel.region.slug,
            detail={
                "channel": channel.pk,
                "kind": channel.kind,
                "before": before,
                "after": after,
                "changes": field_changes(before, after),
                "target_changed": target_changed,
                "secret_rotated": bool(secret),
            },
        )
    log.info(
        "channel %s of region %s edited (target changed: %s, secret rotated: %s)",
        channel.pk,
        channel.region.slug,
        target_changed,
        bool(secret),
    )
    return ChannelUpdate(changed=True, secret=secret)


def channel_active_set(
    *, channel: NotificationChannel, active: bool, user: User, request: HttpRequest | None = None
) -> bool:
    """Pause (no new deliveries; pending ones are not sent) or resume a channel, audited;
    False if it already was so."""
    with transaction.atomic():
        channel = NotificationChannel.objects.select_for_update().get(pk=channel.pk)
        if channel.active == active:
            return False
        before = field_snapshot(channel, CHANNEL_AUDIT_FIELDS)
        channel.active = active
        channel.save(update_fields=["active"])
        audit_record(
            action="alert.channel_resume" if active else "alert.channel_pause",
            request=request,
            user=user,
            region=channel.region.slug,
            detail={
                "channel": channel.pk,
                "kind": channel.kind,
                "before": before,
                "after": field_snapshot(channel, CHANNEL_AUDIT_FIELDS),
            },
        )
    return True


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
