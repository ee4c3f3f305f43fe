"""Writes about alerts: evaluating the rules of a region, acknowledging an alert, a region's
own thresholds."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from alerts.models import Alert, AlertSettings, AlertState
from alerts.notifications import deliveries_create
from alerts.rules import RULES
from alerts.selectors import alert_thresholds
from alerts.tasks import deliveries_enqueue
from audit.changes import field_changes, field_snapshot
from audit.services import audit_record
from regions.models import Region

log = logging.getLogger(__name__)

ACK_FIELDS = ("state", "acknowledged_by_id", "acknowledged_at")


@dataclass(frozen=True)
class Evaluation:
    opened: int
    refreshed: int
    resolved: int


def alerts_evaluate(*, region: Region) -> Evaluation:
    """Open an alert for each condition newly true in `region`, refresh those still true and
    resolve those whose condition cleared. Evaluating again changes only last_seen_at."""
    now = timezone.now()
    findings = {(f.kind, f.key): f for rule in RULES for f in rule(region=region, now=now)}
    opened = refreshed = resolved = 0
    new_alerts: list[Alert] = []
    with transaction.atomic():
        # One evaluation of a region at a time (a sync and a sweep may end together); the
        # partial unique constraint backs this up.
        Region.objects.select_for_update().filter(pk=region.pk).first()
        current = {
            (a.kind, a.key): a
            for a in Alert.objects.select_for_update()
            .filter(region=region)
            .exclude(state=AlertState.RESOLVED)
        }
        for identity, finding in findings.items():
            alert = current.get(identity)
            if alert is None:
                alert = Alert.objects.create(
                    region=region,
                    customer_id=finding.customer_id,
                    kind=finding.kind,
                    key=finding.key,
                    title=finding.title,
                    detail=finding.detail,
                    opened_at=now,
                    last_seen_at=now,
                )
                new_alerts.append(alert)
                opened += 1
            else:
                alert.title, alert.detail, alert.last_seen_at = finding.title, finding.detail, now
                alert.save(update_fields=["title", "detail", "last_seen_at"])
                refreshed += 1
        cleared = [a.pk for identity, a in current.items() if identity not in findings]
        if cleared:
            resolved = Alert.objects.filter(pk__in=cleared).update(
                state=AlertState.RESOLVED, resolved_at=now
            )
        # Each channel hears of an alert once, when it opens; the tasks carry delivery ids.
        deliveries_enqueue(deliveries_create(alerts=new_alerts))
    if opened or resolved:
        log.info("alerts of region %s: %s opened, %s resolved", region.slug, opened, resolved)
    return Evaluation(opened=opened, refreshed=refreshed, resolved=resolved)


def alerts_evaluate_safely(*, region_id: int) -> Evaluation | None:
    """Evaluate after a sync or sweep: a broken rule is logged, never fails the job itself."""
    region = Region.objects.filter(pk=region_id).first()
    if region is None:
        return None
    try:
        return alerts_evaluate(region=region)
    except Exception:
        log.exception("alert evaluation of region %s failed", region.slug)
        return None


def alert_acknowledge(*, alert: Alert, user: User, request: HttpRequest | None = None) -> bool:
    """Mark an open alert acknowledged by `user`, audited; False if it was not open."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().select_related("region").get(pk=alert.pk)
        if alert.state != AlertState.OPEN:
            return False
        before = field_snapshot(alert, ACK_FIELDS)
        alert.state = AlertState.ACKNOWLEDGED
        alert.acknowledged_by = user
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["state", "acknowledged_by", "acknowledged_at"])
        audit_record(
            action="alert.acknowledge",
            request=request,
            user=user,
            region=alert.region.slug,
            tenant_id=str(alert.customer.tenant_id) if alert.customer_id else None,
            detail={
                "alert": alert.pk,
                "kind": alert.kind,
                "before": before,
                "after": field_snapshot(alert, ACK_FIELDS),
            },
        )
    return True


THRESHOLD_FIELDS = ("compliance_below", "compliance_drop")


def alert_settings_update(
    *,
    region: Region,
    compliance_below: int,
    compliance_drop: int,
    user: User,
    request: HttpRequest | None = None,
) -> Evaluation | None:
    """Store `region`'s own compliance thresholds, audited with before and after, and
    evaluate its rules at once so alerts open or resolve by the new numbers; None when they
    were what the rules already used."""
    with transaction.atomic():
        Region.objects.select_for_update().filter(pk=region.pk).first()
        before = field_snapshot(alert_thresholds(region=region), (*THRESHOLD_FIELDS, "custom"))
        row, _ = AlertSettings.objects.get_or_create(
            region=region,
            defaults={"compliance_below": compliance_below, "compliance_drop": compliance_drop},
        )
        if before["custom"] and field_snapshot(row, THRESHOLD_FIELDS) == {
            "compliance_below": compliance_below,
            "compliance_drop": compliance_drop,
        }:
            return None
        row.compliance_below, row.compliance_drop = compliance_below, compliance_drop
        row.updated_by = user
        row.full_clean()
        row.save()
        after = {**field_snapshot(row, THRESHOLD_FIELDS), "custom": True}
        audit_record(
            action="alert.settings_update",
            request=request,
            user=user,
            region=region.slug,
            detail={"before": before, "after": after, "changes": field_changes(before, after)},
        )
    return alerts_evaluate(region=region)
