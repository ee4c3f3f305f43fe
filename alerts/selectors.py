"""Reads about alerts: what a user may see, filtered; the nav count; a region's channels and
thresholds."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from accounts.models import User
from alerts.models import (
    Alert,
    AlertKind,
    AlertSettings,
    AlertState,
    DeliveryStatus,
    NotificationChannel,
)
from regions.models import Region

# What the page lists: alerts someone still has to act on (resolved ones are history).
UNRESOLVED = (AlertState.OPEN, AlertState.ACKNOWLEDGED)


def _visible(user: User) -> QuerySet[Alert]:
    """Every alert the user may see: their own region's; a global admin's, every region's."""
    if user.crosses_regions:
        return Alert.objects.all()
    if not user.region_id:
        raise PermissionDenied("Your account belongs to no region.")
    return Alert.objects.filter(region_id=user.region_id)


def alert_list(*, user: User, region: str = "", state: str = "", kind: str = "") -> QuerySet[Alert]:
    """Open and acknowledged alerts the user may see, newest first; filters that are not
    valid choices are ignored (a region filter only narrows a global admin's view)."""
    alerts = _visible(user).filter(state__in=UNRESOLVED)
    if region and user.crosses_regions:
        alerts = alerts.filter(region__slug=region)
    if state in UNRESOLVED:
        alerts = alerts.filter(state=state)
    if kind in AlertKind.values:
        alerts = alerts.filter(kind=kind)
    return alerts.select_related("region", "customer", "acknowledged_by").order_by(
        "-opened_at", "-pk"
    )


def alert_for_user(*, user: User, alert_id: int) -> Alert:
    """The alert if the user may see it; Http404 otherwise (another region's reveals nothing)."""
    alert = _visible(user).select_related("region", "customer").filter(pk=alert_id).first()
    if alert is None:
        raise Http404("No such alert.")
    return alert


def alert_regions(*, user: User) -> list[Region]:
    """The regions a global admin may filter by (others: none, they see their own)."""
    if not user.crosses_regions:
        return []
    return list(Region.objects.order_by("name"))


def alerts_open_count(*, user: User) -> int:
    """Open alerts the user may see: one COUNT query, for the navigation bar."""
    if user.crosses_regions:
        return Alert.objects.filter(state=AlertState.OPEN).count()
    if not user.region_id:
        return 0
    return Alert.objects.filter(region_id=user.region_id, state=AlertState.OPEN).count()


def channel_list(*, region: Region) -> QuerySet[NotificationChannel]:
    """The notification channels of `region` (the caller has checked the admin may see it),
    each with its counts of failed and still pending deliveries."""
    return NotificationChannel.objects.filter(region=region).annotate(
        failed_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        pending_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
    )


def channel_for_region(*, region: Region, channel_id: int) -> NotificationChannel:
    """The channel if it is `region`'s; Http404 otherwise (another region's reveals nothing)."""
    channel = NotificationChannel.objects.filter(region=region, pk=channel_id).first()
    if channel is None:
        raise Http404("No such notification channel in this region.")
    return channel


@dataclass(frozen=True)
class Thresholds:
    compliance_below: int  # percent
    compliance_drop: int  # points
    custom: bool  # the region's own, or the portal's defaults


def alert_thresholds(*, region: Region) -> Thresholds:
    """The compliance thresholds the rules use for `region`: its own, else the settings'."""
    own = AlertSettings.objects.filter(region=region).first()
    if own is None:
        return Thresholds(
            compliance_below=settings.ALERT_COMPLIANCE_BELOW,
            compliance_drop=settings.ALERT_COMPLIANCE_DROP,
            custom=False,
        )
    return Thresholds(
        compliance_below=own.compliance_below, compliance_drop=own.compliance_drop, custom=True
    )
