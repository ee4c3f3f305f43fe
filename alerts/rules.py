"""The alert rules: one function per rule, each reading the database only (no Microsoft).

A rule returns the conditions true now in one region; alerts/services.py turns that into
alerts that open once, stay while the condition holds and resolve when it clears.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Window
from django.db.models.functions import RowNumber

from alerts.models import AlertKind
from alerts.selectors import alert_thresholds
from compliance.models import ComplianceSnapshot, CustomerCompliance
from customers.models import Customer, GdapRelationship
from regions.models import Region

# How far ahead an ending relationship or credential is worth a person's attention.
EXPIRY_WINDOW = timedelta(days=30)
# Only the two newest snapshots of a customer matter; older history (kept for 90 days, every
# few hours) is not scanned. A customer not swept for this long has no drop or failure streak.
SNAPSHOT_HORIZON = timedelta(days=30)


@dataclass(frozen=True)
class Finding:
    """One condition true now: what `Alert` rows are made of."""

    kind: str
    key: str
    title: str
    customer_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _pct(rate: float) -> float:
    return round(100 * rate, 1)


def _latest_snapshots(
    region: Region, *, now: datetime, ok_only: bool, count: int = 2
) -> dict[int, list[Any]]:
    """The `count` newest snapshots of each customer of the region, newest first."""
    snapshots = ComplianceSnapshot.objects.filter(
        customer__region=region, taken_at__gte=now - SNAPSHOT_HORIZON
    )
    if ok_only:
        snapshots = snapshots.filter(ok=True, compliance_rate__isnull=False)
    rows = (
        snapshots.annotate(
            position=Window(
                RowNumber(), partition_by=[F("customer_id")], order_by=[F("taken_at").desc()]
            )
        )
        .filter(position__lte=count)
        .order_by("customer_id", "position")
        .values("customer_id", "taken_at", "ok", "compliance_rate", "error_kind")
    )
    by_customer: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_customer[row["customer_id"]].append(row)
    return by_customer


def compliance_below(*, region: Region, now: datetime) -> list[Finding]:
    """A customer whose latest successful sweep found fewer compliant devices than the
    region's threshold (percent; ALERT_COMPLIANCE_BELOW unless the region set its own)."""
    threshold = alert_thresholds(region=region).compliance_below
    rows = CustomerCompliance.objects.filter(
        customer__region=region,
        compliance_rate__isnull=False,
        compliance_rate__lt=threshold / 100,
    ).select_related("customer")
    return [
        Finding(
            kind=AlertKind.COMPLIANCE_BELOW,
            key=f"customer-{row.customer_id}",
            customer_id=row.customer_id,
            title=(
                f"{row.customer.name}: {_pct(row.compliance_rate)}% of devices compliant, "
                f"below {threshold}%."
            ),
            detail={
                "rate_pct": _pct(row.compliance_rate),
                "threshold_pct": threshold,
                "devices": row.device_total,
                "noncompliant": row.noncompliant,
                "taken_at": row.good_taken_at.isoformat() if row.good_taken_at else None,
            },
        )
        for row in rows
    ]


def compliance_drop(*, region: Region, now: datetime) -> list[Finding]:
    """A customer whose rate fell by the region's points (ALERT_COMPLIANCE_DROP unless the
    region set its own) or more between its two latest successful sweeps."""
    points = alert_thresholds(region=region).compliance_drop
    names = dict(Customer.objects.filter(region=region).values_list("pk", "name"))
    findings = []
    for customer_id, (latest, *rest) in _latest_snapshots(region, now=now, ok_only=True).items():
        if not rest:
            continue
        previous = rest[0]
        drop = _pct(previous["compliance_rate"]) - _pct(latest["compliance_rate"])
        if drop < points:
            continue
        findings.append(
            Finding(
                kind=AlertKind.COMPLIANCE_DROP,
                key=f"customer-{customer_id}",
                customer_id=customer_id,
                title=(
                    f"{names.get(customer_id, 'A customer')}: compliance dropped "
                    f"{round(drop, 1)} points, from {_pct(previous['compliance_rate'])}% to "
                    f"{_pct(latest['compliance_rate'])}%."
                ),
                detail={
                    "from_pct": _pct(previous["compliance_rate"]),
                    "to_pct": _pct(latest["compliance_rate"]),
                    "drop_points": round(drop, 1),
                    "threshold_points": points,
                    "taken_at": latest["taken_at"].isoformat(),
                },
            )
        )
    return findings


def gdap_ending(*, region: Region, now: datetime) -> list[Finding]:
    """An active GDAP relationship ending within 30 days that will not extend itself."""
    # Reference: https://learn.microsoft.com/graph/api/resources/delegatedadminrelationship
    # (autoExtendDuration "PT0S" = never; "P180D" = extends by 180 days at its end).
    relationships = GdapRelationship.objects.filter(
        customer__region=region,
        status="active",
        end_at__isnull=False,
        end_at__lte=now + EXPIRY_WINDOW,
    ).select_related("customer")
    return [
        Finding(
            kind=AlertKind.GDAP_ENDING,
            key=f"gdap-{r.customer_id}-{r.relationship_id}",
            customer_id=r.customer_id,
            title=(
                f"{r.customer.name}: GDAP relationship “{r}” ends on {r.end_at:%Y-%m-%d} "
                "and does not extend itself."
            ),
            detail={
                "relationship_id": r.relationship_id,
                "end_at": r.end_at.isoformat(),
                "days_left": max((r.end_at - now).days, 0),
            },
        )
        for r in relationships
        if not r.auto_extends
    ]


def credential_expiring(*, region: Region, now: datetime) -> list[Finding]:
    """The region's client secret or certificate (the one in use) lapsing within 30 days."""
    expires_at = region.credential_expires_at
    if expires_at is None or expires_at > now + EXPIRY_WINDOW:
        return []
    what = "certificate" if region.uses_certificate else "client secret"
    verb = "expired on" if expires_at <= now else "expires on"
    return [
        Finding(
            kind=AlertKind.CREDENTIAL_EXPIRING,
            key=f"region-{region.pk}-{region.credential_type}",
            title=f"The app's {what} of {region.name} {verb} {expires_at:%Y-%m-%d}.",
            detail={
                "credential": region.credential_type,
                "expires_at": expires_at.isoformat(),
                "days_left": max((expires_at - now).days, 0),
            },
        )
    ]


def consent_lost(*, region: Region, now: datetime) -> list[Finding]:
    """A customer where the app worked and no longer does (found by the sync's check)."""
    customers = Customer.objects.filter(region=region, consent_lost_at__isnull=False)
    return [
        Finding(
            kind=AlertKind.CONSENT_LOST,
            key=f"customer-{c.pk}",
            customer_id=c.pk,
            title=(
                f"{c.name}: the app's consent was lost on {c.consent_lost_at:%Y-%m-%d}; "
                "an admin can consent it again on the customer's Access page."
            ),
            detail={"lost_at": c.consent_lost_at.isoformat(), "consent_state": c.consent_state},
        )
        for c in customers
    ]


def sweep_failing(*, region: Region, now: datetime) -> list[Finding]:
    """A customer whose two latest sweeps both failed to read its devices."""
    names = dict(Customer.objects.filter(region=region).values_list("pk", "name"))
    findings = []
    for customer_id, rows in _latest_snapshots(region, now=now, ok_only=False).items():
        if len(rows) < 2 or any(row["ok"] for row in rows):
            continue
        findings.append(
            Finding(
                kind=AlertKind.SWEEP_FAILING,
                key=f"customer-{customer_id}",
                customer_id=customer_id,
                title=(
                    f"{names.get(customer_id, 'A customer')}: the compliance sweep failed "
                    "twice in a row; its dashboard figures are out of date."
                ),
                detail={
                    "error_kind": rows[0]["error_kind"],
                    "last_failed_at": rows[0]["taken_at"].isoformat(),
                },
            )
        )
    return findings


RULES = (
    compliance_below,
    compliance_drop,
    gdap_ending,
    credential_expiring,
    consent_lost,
    sweep_failing,
)
