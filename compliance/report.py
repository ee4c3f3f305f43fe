"""The weekly compliance report of a region: built from the sweeps' stored data, no live calls.

"Now" and every earlier week are read the same way: each swept customer's latest successful
snapshot at that instant, summed over the region (the dashboard's figures, since a customer's
latest good snapshot is what its CustomerCompliance row copies). So the rate a week ago is
what the dashboard showed a week ago, whatever sweeps ran in between, and a customer whose
latest sweep failed still counts with its last good figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from compliance.models import ComplianceSnapshot, NoncompliantDevice
from compliance.selectors import failing_policy_names, noncompliant_devices, swept_customers
from customers.models import Customer
from portal.labels import iso, percent
from regions.models import Region

WORST_CUSTOMERS = 5
TOP_DEVICES = 10
WEEKS = 8  # points of the weekly trend, this week included


@dataclass(frozen=True)
class WeekPoint:
    at: datetime  # the instant the figures are of
    devices: int
    compliant: int
    noncompliant: int
    customers: int  # customers with a successful snapshot by then

    @property
    def rate_pct(self) -> float | None:
        return round(100 * self.compliant / self.devices, 1) if self.devices else None


@dataclass(frozen=True)
class CustomerLine:
    name: str
    tenant_id: str
    region: str
    devices: int
    compliant: int
    noncompliant: int
    taken_at: datetime

    @property
    def rate_pct(self) -> float:
        return round(100 * self.compliant / self.devices, 1)


@dataclass(frozen=True)
class DeviceLine:
    customer: str
    region: str
    device: str
    user: str
    operating_system: str
    since: datetime
    policies: list[str] | None  # None: the sweep could not read them ("unknown")


@dataclass(frozen=True)
class ComplianceReport:
    region_slug: str  # "all" for every region
    region_name: str
    period: str  # the ISO week reported on, "2026-W49"
    period_start: date  # its Monday
    period_end: date  # its Sunday
    generated_at: datetime
    customers: int  # swept customers of the region
    customers_failing: int  # whose latest sweep failed (their last good figures count)
    now: WeekPoint
    weeks: list[WeekPoint]  # oldest first; the last one is `now`
    worst: list[CustomerLine]
    noncompliant_devices: int
    top_devices: list[DeviceLine] = field(default_factory=list)

    @property
    def week_ago(self) -> WeekPoint | None:
        return self.weeks[-2] if len(self.weeks) >= 2 else None

    @property
    def change_pts(self) -> float | None:
        """Points the compliance rate moved since a week ago; None without both rates."""
        before = self.week_ago.rate_pct if self.week_ago else None
        now = self.now.rate_pct
        return None if before is None or now is None else round(now - before, 1)

    @property
    def title(self) -> str:
        return f"Weekly compliance report {self.period}: {self.region_name}"


def report_period(now: datetime) -> tuple[str, date, date]:
    """The ISO week that ended most recently before `now` (its key, Monday, Sunday): sent on
    any day of a week, the report is about the week before, so each week has one period."""
    monday = now.date() - timedelta(days=now.weekday())
    start = monday - timedelta(days=7)
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}", start, start + timedelta(days=6)


def _customers(region: Region | None) -> QuerySet[Customer]:
    customers = swept_customers()
    return customers.filter(region=region) if region is not None else customers


def _latest_good(region: Region | None, at: datetime, since: datetime) -> list[ComplianceSnapshot]:
    """Each customer's latest successful snapshot taken in (since, at]."""
    latest = (
        ComplianceSnapshot.objects.filter(
            customer=OuterRef("pk"), ok=True, taken_at__lte=at, taken_at__gt=since
        )
        .order_by("-taken_at", "-pk")
        .values("pk")[:1]
    )
    ids = (
        _customers(region)
        .annotate(snapshot_id=Subquery(latest))
        .exclude(snapshot_id=None)
        .values_list("snapshot_id", flat=True)
    )
    return list(
        ComplianceSnapshot.objects.filter(pk__in=list(ids)).select_related("customer__region")
    )


def _point(at: datetime, snapshots: list[ComplianceSnapshot]) -> WeekPoint:
    return WeekPoint(
        at=at,
        devices=sum(s.device_total for s in snapshots),
        compliant=sum(s.compliant for s in snapshots),
        noncompliant=sum(s.noncompliant for s in snapshots),
        customers=len(snapshots),
    )


def compliance_report_build(
    *, region: Region | None, now: datetime | None = None, weeks: int = WEEKS
) -> ComplianceReport:
    """The report of `region` (None: every active region) as the stored sweeps stand at
    `now`; `weeks` weekly points, a week apart, ending at `now`."""
    now = now or timezone.now()
    period, start, end = report_period(now)
    # Data older than the retention period is pruned; older than that also means no data.
    horizon = timedelta(days=settings.COMPLIANCE_RETENTION_DAYS)
    points = []
    current: list[ComplianceSnapshot] = []
    for back in range(weeks - 1, -1, -1):
        at = now - timedelta(weeks=back)
        snapshots = _latest_good(region, at, at - horizon)
        points.append(_point(at, snapshots))
        if back == 0:
            current = snapshots
    worst = sorted(
        (s for s in current if s.device_total),
        key=lambda s: (s.compliant / s.device_total, s.customer.name),
    )[:WORST_CUSTOMERS]
    customers = _customers(region)
    devices = noncompliant_devices(region=region).order_by("since", "customer__name", "pk")
    return ComplianceReport(
        region_slug=region.slug if region else "all",
        region_name=region.name if region else "All regions",
        period=period,
        period_start=start,
        period_end=end,
        generated_at=now,
        customers=customers.count(),
        customers_failing=customers.filter(compliance__last_ok=False).count(),
        now=points[-1],
        weeks=points,
        worst=[
            CustomerLine(
                name=s.customer.name,
                tenant_id=str(s.customer.tenant_id),
                region=s.customer.region.slug,
                devices=s.device_total,
                compliant=s.compliant,
                noncompliant=s.noncompliant,
                taken_at=s.taken_at,
            )
            for s in worst
        ],
        noncompliant_devices=NoncompliantDevice.objects.filter(customer__in=customers).count(),
        top_devices=[
            DeviceLine(
                customer=d.customer.name,
                region=d.customer.region.slug,
                device=d.device_name or d.device_id,
                user=d.user_principal_name,
                operating_system=d.operating_system,
                since=d.since,
                policies=failing_policy_names(d),
            )
            for d in devices[:TOP_DEVICES]
        ],
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def report_document(report: ComplianceReport) -> dict[str, Any]:
    """The report as JSON-ready data: what a signed webhook carries and a delivery stores, so a
    retry sends the same figures."""
    document = _plain(asdict(report))
    document["title"] = report.title
    document["change_pts"] = report.change_pts
    document["now"]["rate_pct"] = report.now.rate_pct
    for point, row in zip(report.weeks, document["weeks"], strict=True):
        row["rate_pct"] = point.rate_pct
    for line, row in zip(report.worst, document["worst"], strict=True):
        row["rate_pct"] = line.rate_pct
    return document


def _points(change: float | None) -> str:
    return "n/a" if change is None else f"{change:+.1f} points"


REPORT_CSV_COLUMNS = (
    "section",
    "item",
    "region",
    "devices",
    "compliant",
    "compliance_rate",
    "detail",
)


def _rate(compliant: int, devices: int) -> str:
    """The rate as the report's page shows it ("85.0%"); "" without devices."""
    return percent(compliant / devices) if devices else ""


def report_csv_rows(report: ComplianceReport) -> list[list[object]]:
    """The report as spreadsheet rows: the summary, the weekly trend, the worst customers and
    the noncompliant devices longest noncompliant first."""
    rows: list[list[object]] = [
        [
            "summary",
            report.period,
            report.region_slug,
            report.now.devices,
            report.now.compliant,
            _rate(report.now.compliant, report.now.devices),
            f"change since a week ago: {_points(report.change_pts)}; noncompliant devices: "
            f"{report.noncompliant_devices}; customers: "
            f"{report.customers} ({report.customers_failing} with a failing sweep)",
        ]
    ]
    for p in report.weeks:
        rows.append(
            [
                "week",
                p.at.date().isoformat(),
                report.region_slug,
                p.devices,
                p.compliant,
                _rate(p.compliant, p.devices),
                f"{p.customers} customers",
            ]
        )
    for c in report.worst:
        rows.append(
            [
                "worst customer",
                c.name,
                c.region,
                c.devices,
                c.compliant,
                _rate(c.compliant, c.devices),
                f"as of {iso(c.taken_at)}",
            ]
        )
    for d in report.top_devices:
        rows.append(
            [
                "noncompliant device",
                d.device,
                d.region,
                "",
                "",
                "",
                f"{d.customer}; {d.user or '-'}; {d.operating_system or '-'}; since "
                f"{iso(d.since)}; policies: "
                f"{'unknown' if d.policies is None else ', '.join(d.policies) or 'none named'}",
            ]
        )
    return rows
