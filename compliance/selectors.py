"""Reads about compliance: the managers' dashboard, the CSV export, one customer's history.

The dashboard aggregates in SQL over one pointer row per customer (CustomerCompliance) and
over per-sweep, per-region totals (ComplianceTrendPoint); it never scans the snapshot history.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from audit.denials import RegionDenied
from compliance.models import (
    ComplianceSnapshot,
    ComplianceSweep,
    ComplianceTrendPoint,
    NoncompliantDevice,
    NoncompliantPolicy,
)
from customers.models import ConsentState, Customer, RelationshipStatus
from portal.labels import iso, percent
from regions.models import Region

ALL_REGIONS = "all"
WORST_LIMIT = 10
PROBLEM_LIMIT = 50


@dataclass
class Dashboard:
    region: Region | None  # None: all regions
    regions: list[Region]
    totals: dict[str, int | float | None]
    trend: list[dict[str, object]]
    worst: list[Customer]
    problems: list[Customer]
    problem_count: int
    sweep: ComplianceSweep | None
    stale_hours: int = field(default=24)
    device_stale_days: int = field(default=30)


def region_choice(*, user: User, slug: str | None) -> tuple[Region | None, list[Region]]:
    """The region whose compliance the user sees, and the regions they may pick from.

    A manager or admin sees their own region only, whatever they ask for (`?region=eu` or
    `all` from a US manager is their own region); a global admin picks any region, or `all`.
    Raises PermissionDenied for a user without a region who is not a global admin."""
    if not user.crosses_regions:
        own = user.region if user.region_id and user.region.active else None
        if own is None:
            raise PermissionDenied("Your account belongs to no active region.")
        return own, [own]
    regions = list(Region.objects.filter(active=True).order_by("name"))
    if slug == ALL_REGIONS:
        return None, regions
    by_slug = {r.slug: r for r in regions}
    if slug in by_slug:
        return by_slug[slug], regions
    own = by_slug.get(user.region.slug) if user.region_id else None
    return own, regions  # None (all regions) for a global admin without a region


def report_region(*, user: User, slug: str | None) -> Region | None:
    """The region whose weekly report the user opens: a manager or admin their own, and a
    region named in the URL that is not theirs is 404 (audited, as any other region's
    object); a global admin the region picked, or every region ("all")."""
    if user.crosses_regions:
        return region_choice(user=user, slug=slug)[0]
    own, _ = region_choice(user=user, slug=None)
    if slug and slug != own.slug:
        raise RegionDenied(
            "No such region.",
            kind="compliance report",
            target=slug[:64],
            exists=Region.objects.filter(slug=slug[:64]).exists(),
        )
    return own


def sweep_latest(*, region: Region | None, with_all: bool = False) -> ComplianceSweep | None:
    """The newest sweep of `region` (None: the newest of any, for a global admin's "all");
    `with_all`: a sweep of every region counts as one of `region` too (for a global admin,
    who may watch it; a manager may not, it is not their region's)."""
    sweeps = ComplianceSweep.objects.select_related("region")
    if region is None:
        return sweeps.first()
    if with_all:
        return sweeps.filter(Q(region=region) | Q(region__isnull=True)).first()
    return sweeps.filter(region=region).first()


def sweep_for_user(*, user: User, sweep_id: int) -> ComplianceSweep:
    """The sweep if it is of the user's own region (a global admin: any); Http404 otherwise,
    so a sweep id of another region reveals nothing, not even that it exists."""
    sweep = ComplianceSweep.objects.select_related("region").filter(pk=sweep_id).first()
    if sweep is None or not (user.crosses_regions or sweep.region_id == user.region_id):
        raise RegionDenied(
            "No such sweep.", kind="compliance sweep", target=str(sweep_id), exists=bool(sweep)
        )
    return sweep


# Customers the partner no longer has (or never had) a relationship with are not swept.
# Expired ones are: the manager should see that their data stopped flowing, and why.
_NOT_SWEPT = [RelationshipStatus.NONE, RelationshipStatus.TERMINATED]


def swept_customers() -> QuerySet[Customer]:
    """The customers a sweep covers and the dashboard reports on: every active region's."""
    return Customer.objects.filter(region__active=True).exclude(relationship_status__in=_NOT_SWEPT)


def _customers(region: Region | None) -> QuerySet[Customer]:
    qs = swept_customers()
    return qs.filter(region=region) if region is not None else qs


def _swept_through(fk: str, region: Region | None) -> Q:
    """_customers(region) as a filter through the foreign key `fk`: on the one join that the
    rows' select_related and ordering by customer use too. `fk__in=_customers(...)` adds a
    second, and the planner then sorts every row for a deep page or a sort by customer
    (issue 18: 95 ms against 48 ms at 27,000 noncompliant devices)."""
    swept = Q(**{f"{fk}__region__active": True}) & ~Q(
        **{f"{fk}__relationship_status__in": _NOT_SWEPT}
    )
    return swept & Q(**{f"{fk}__region": region}) if region is not None else swept


@dataclass(frozen=True)
class SweepCounts:
    """What a sweep's status line says: customers the sweep attempted and how many of those
    failed, over how many regions; and, when an all-regions sweep is shown on one region's
    page, the same two counts for that region (they agree with its Customers card)."""

    customers: int
    failed: int
    regions: int
    region: Region | None = None
    region_customers: int = 0
    region_failed: int = 0


def sweep_counts(*, sweep: ComplianceSweep | None, region: Region | None) -> SweepCounts | None:
    if sweep is None:
        return None
    snapshots = ComplianceSnapshot.objects.filter(sweep=sweep)
    if sweep.region_id is not None:
        regions = 1
    else:
        regions = snapshots.values("customer__region").distinct().count()
    counts = SweepCounts(customers=sweep.done, failed=sweep.failed, regions=regions)
    if sweep.region_id is None and region is not None:
        here = snapshots.filter(customer__region=region).aggregate(
            n=Count("pk"), failed=Count("pk", filter=Q(ok=False))
        )
        counts = SweepCounts(
            customers=counts.customers,
            failed=counts.failed,
            regions=regions,
            region=region,
            region_customers=here["n"],
            region_failed=here["failed"],
        )
    return counts


def compliance_dashboard(
    *,
    region: Region | None,
    regions: list[Region],
    problems_order: list[str] | None = None,
    sweep_with_all: bool = False,
) -> Dashboard:
    now = timezone.now()
    stale_hours = settings.COMPLIANCE_DATA_STALE_HOURS
    stale_cutoff = now - timedelta(hours=stale_hours)
    customers = _customers(region)
    totals = customers.aggregate(
        customers=Count("pk"),
        swept=Count("compliance__good_taken_at"),
        devices=Sum("compliance__device_total"),
        compliant=Sum("compliance__compliant"),
        noncompliant=Sum("compliance__noncompliant"),
        in_grace_period=Sum("compliance__in_grace_period"),
        stale_devices=Sum("compliance__stale"),
        failed=Count("pk", filter=Q(compliance__last_ok=False)),
        # Drift: the app worked there, then its consent or app roles were removed.
        consent_lost=Count(
            "pk",
            filter=Q(consent_lost_at__isnull=False) & ~Q(consent_state=ConsentState.CONSENTED),
        ),
        not_consented=Count(
            "pk",
            filter=Q(relationship_status=RelationshipStatus.ACTIVE)
            & Q(consent_state__in=[ConsentState.NOT_CONSENTED, ConsentState.NO_APP_ROLES]),
        ),
    )
    devices = totals["devices"] or 0
    totals["rate"] = (totals["compliant"] or 0) / devices if devices else None
    totals["rate_pct"] = round(100 * totals["rate"], 1) if devices else None
    problems_qs = _problems(customers, stale_cutoff)
    return Dashboard(
        region=region,
        regions=regions,
        totals=totals,
        trend=_trend(region, now),
        worst=list(
            customers.filter(
                compliance__device_total__gt=0, compliance__compliance_rate__isnull=False
            )
            .select_related("region", "compliance")
            .order_by("compliance__compliance_rate", "name")[:WORST_LIMIT]
        ),
        problems=list(
            problems_qs.select_related("region", "compliance").order_by(
                *(problems_order or ["name", "pk"])
            )[:PROBLEM_LIMIT]
        ),
        problem_count=problems_qs.count(),
        sweep=sweep_latest(region=region, with_all=sweep_with_all),
        stale_hours=stale_hours,
        device_stale_days=settings.COMPLIANCE_DEVICE_STALE_DAYS,
    )


def _problems(customers: QuerySet[Customer], stale_cutoff: object) -> QuerySet[Customer]:
    """Customers whose last sweep failed, or whose good data is old or missing."""
    return customers.filter(
        Q(compliance__last_ok=False)
        | Q(compliance__good_taken_at__isnull=True)
        | Q(compliance__good_taken_at__lt=stale_cutoff)
    )


def _trend(region: Region | None, now: object) -> list[dict[str, object]]:
    """Daily compliance rate (device-weighted over the day's sweeps) for the retention period."""
    since = now - timedelta(days=settings.COMPLIANCE_RETENTION_DAYS)  # type: ignore[operator]
    points = ComplianceTrendPoint.objects.filter(taken_at__gte=since)
    if region is not None:
        points = points.filter(region=region)
    rows = (
        points.annotate(day=TruncDate("taken_at"))
        .values("day")
        .annotate(
            devices=Sum("devices"),
            compliant=Sum("compliant"),
            noncompliant=Sum("noncompliant"),
            in_grace_period=Sum("in_grace_period"),
        )
        .order_by("day")
    )
    return [
        {
            "day": row["day"].isoformat(),
            "rate": round(100 * row["compliant"] / row["devices"], 2) if row["devices"] else None,
            "noncompliant": round(100 * row["noncompliant"] / row["devices"], 2)
            if row["devices"]
            else None,
        }
        for row in rows
    ]


EXPORT_COLUMNS = (
    "region",
    "customer",
    "tenant_id",
    "default_domain",
    "relationship",
    "last_sweep_at",
    "last_sweep_ok",
    "last_sweep_error",
    "data_as_of",
    "devices",
    "compliant",
    "noncompliant",
    "in_grace_period",
    "unknown",
    "conflict",
    "error",
    "config_manager",
    "stale_devices",
    "compliance_rate",
    "operating_systems",
)


def compliance_export_rows(*, region: Region | None) -> Iterator[list[object]]:
    """One row per customer with its latest snapshot (counts from the latest good one)."""
    customers = (
        _customers(region)
        .select_related("region", "compliance__last_snapshot", "compliance__last_good_snapshot")
        .order_by("region__slug", "name", "pk")
    )
    for c in customers.iterator(chunk_size=500):
        pointers = getattr(c, "compliance", None)
        last = pointers.last_snapshot if pointers else None
        good = pointers.last_good_snapshot if pointers else None
        yield [
            c.region.slug,
            c.name,
            str(c.tenant_id),
            c.default_domain,
            c.relationship_status,
            iso(last.taken_at) if last else "",
            ("yes" if last.ok else "no") if last else "",
            last.error if last else "",
            iso(good.taken_at) if good else "",
            *(
                [
                    good.device_total,
                    good.compliant,
                    good.noncompliant,
                    good.in_grace_period,
                    good.unknown,
                    good.conflict,
                    good.error_devices,
                    good.config_manager,
                    good.stale,
                    percent(good.compliance_rate),
                    "; ".join(f"{k}={v}" for k, v in sorted(good.os_counts.items())),
                ]
                if good
                else [""] * 11
            ),
        ]


def customer_history(*, customer: Customer, limit: int = 90) -> list[ComplianceSnapshot]:
    """The customer's latest snapshots, oldest first (for its trend chart)."""
    rows = list(
        ComplianceSnapshot.objects.filter(customer=customer)
        .only("taken_at", "ok", "error", "compliance_rate", "device_total", "compliant")
        .order_by("-taken_at")[:limit]
    )
    rows.reverse()
    return rows


NONCOMPLIANT_COLUMNS = (
    "region",
    "customer",
    "tenant_id",
    "device",
    "device_id",
    "user",
    "operating_system",
    "policies_failing",
    "last_sync_at",
    "noncompliant_since",
    "seen_at",
)
# What a device whose policy states the sweep could not read shows for its policies.
POLICIES_UNKNOWN = "unknown"


def noncompliant_devices(
    *,
    region: Region | None,
    q: str = "",
    os: str = "",
    policy: str = "",
    order: list[str] | None = None,
) -> QuerySet[NoncompliantDevice]:
    """Every noncompliant device of the region's swept customers (None: every region), from
    the sweeps' stored data; `q` matches the device, its user or its customer, `os` exactly,
    `policy` a failing policy's name exactly; in `order` (QuerySet.order_by fields, total:
    compliance/tables.py adds a tiebreak), longest noncompliant first by default. Each
    device's failing_policies are prefetched."""
    devices = (
        NoncompliantDevice.objects.filter(_swept_through("customer", region))
        .select_related("customer", "customer__region")
        .prefetch_related(
            Prefetch("failing_policies", queryset=NoncompliantPolicy.objects.order_by("name"))
        )
    )
    if policy:
        # (device, name) is unique: the join adds no duplicate rows.
        devices = devices.filter(failing_policies__name=policy[:256])
    q = q.strip()[:100]
    if q:
        devices = devices.filter(
            Q(device_name__icontains=q)
            | Q(user_principal_name__icontains=q)
            | Q(customer__name__icontains=q)
        )
    if os:
        devices = devices.filter(operating_system=os[:64])
    return devices.order_by(*(order or ["since", "customer__name", "device_name", "pk"]))


@dataclass(frozen=True)
class NoncompliantChoices:
    """The noncompliant list's filter choices: its devices' operating systems and the names
    of the policies they fail."""

    systems: list[str]
    policies: list[str]


def _choices_version_key() -> str:
    return "compliance:noncompliant-choices-version"


def noncompliant_choices_outdate() -> None:
    """Sweeps changed the noncompliant devices: choices read before now are not shown again
    (every region's: one counter, as a global admin's page spans them all)."""
    cache.set(_choices_version_key(), time.time_ns(), None)


def noncompliant_choices(*, region: Region | None) -> NoncompliantChoices:
    """The filter choices of the region's noncompliant devices (None: every region), kept
    until a sweep writes devices (noncompliant_choices_outdate) and at most
    NONCOMPLIANT_CHOICES_SECONDS: a sync that removes a customer may leave a choice that
    lists nothing for that long, never a missing one. Two DISTINCTs over 27,000 devices
    were half the list's server time at 10,000 customers (issue 18)."""
    version = cache.get(_choices_version_key()) or 0
    key = f"compliance:noncompliant-choices:{region.pk if region else 'all'}:{version}"
    found = cache.get(key)
    if isinstance(found, NoncompliantChoices):
        return found
    customers = _customers(region)
    found = NoncompliantChoices(
        systems=list(
            NoncompliantDevice.objects.filter(customer__in=customers)
            .values_list("operating_system", flat=True)
            .distinct()
            .order_by("operating_system")
        ),
        policies=list(
            NoncompliantPolicy.objects.filter(device__customer__in=customers)
            .values_list("name", flat=True)
            .distinct()
            .order_by("name")
        ),
    )
    cache.set(key, found, settings.NONCOMPLIANT_CHOICES_SECONDS)
    return found


def failing_policy_names(device: NoncompliantDevice) -> list[str] | None:
    """The device's failing policy names; None when its sweep could not read them."""
    if not device.policies_read:
        return None
    return [p.name for p in device.failing_policies.all()]


def noncompliant_export_rows(devices: QuerySet[NoncompliantDevice]) -> Iterator[list[object]]:
    for d in devices.iterator(chunk_size=500):
        names = failing_policy_names(d)
        yield [
            d.customer.region.slug,
            d.customer.name,
            d.customer.tenant_id,
            d.device_name,
            d.device_id,
            d.user_principal_name,
            d.operating_system,
            POLICIES_UNKNOWN if names is None else "; ".join(names),
            iso(d.last_sync_at),
            iso(d.since),
            iso(d.seen_at),
        ]
