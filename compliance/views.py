"""Compliance pages: parse input, call one selector or service, render."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from audit.services import audit_record
from compliance import selectors, tables
from compliance.export import csv_lines
from compliance.intune import customer_compliance_read
from compliance.models import ComplianceSweep, NoncompliantDevice
from compliance.report import REPORT_CSV_COLUMNS, compliance_report_build, report_csv_rows
from compliance.tasks import sweep_request
from customers.decorators import customer_view
from customers.models import Customer
from mscloud.graph import GraphClient
from portal.paginator import DeferredJoinPaginator
from regions.models import Region


def _stale_days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("stale_days", ""))
    except ValueError:
        return settings.COMPLIANCE_DEVICE_STALE_DAYS
    return min(max(days, 1), 365)


@customer_view("compliance")
def customer_compliance_view(
    request: HttpRequest, customer: Customer, graph: GraphClient
) -> HttpResponse:
    report = customer_compliance_read(graph=graph, stale_days=_stale_days(request))
    history = selectors.customer_history(customer=customer)
    chart = {
        "states": {
            "labels": [row.label for row in report.states],
            "keys": [row.state for row in report.states],
            "values": [row.devices for row in report.states],
        },
        "systems": {
            "labels": [name for name, _ in report.systems],
            "values": [count for _, count in report.systems],
        },
        "history": {
            "labels": [s.taken_at.strftime("%Y-%m-%d %H:%M") for s in history if s.ok],
            "rate": [
                round(100 * s.compliance_rate, 2) if s.compliance_rate is not None else None
                for s in history
                if s.ok
            ],
        },
    }
    return render(
        request,
        "compliance/customer.html",
        {"customer": customer, "tab": "compliance", "report": report, "chart": chart},
    )


@role_required(Role.MANAGER)
def dashboard_view(request: HttpRequest) -> HttpResponse:
    region, regions = selectors.region_choice(user=request.user, slug=request.GET.get("region"))
    slug = region.slug if region else selectors.ALL_REGIONS
    problems = tables.table_for(request, tables.PROBLEMS, {"region": slug})
    board = selectors.compliance_dashboard(
        region=region,
        regions=regions,
        problems_order=problems.sort.order_by(),
        sweep_with_all=request.user.crosses_regions,
    )
    chart = {
        "trend": {
            "labels": [p["day"] for p in board.trend],
            "rate": [p["rate"] for p in board.trend],
            "noncompliant": [p["noncompliant"] for p in board.trend],
        }
    }
    return render(
        request,
        "compliance/dashboard.html",
        {
            "board": board,
            "chart": chart,
            "region_slug": slug,
            "nav": "compliance",
            "sweep": board.sweep,
            "sweep_counts": selectors.sweep_counts(sweep=board.sweep, region=region),
            "tv": problems,
        },
    )


@role_required(Role.MANAGER)
def export_view(request: HttpRequest) -> StreamingHttpResponse:
    region, _ = selectors.region_choice(user=request.user, slug=request.GET.get("region"))
    scope = region.slug if region else selectors.ALL_REGIONS
    audit_record(action="compliance.export", request=request, detail={"region": scope})
    lines = csv_lines(
        header=selectors.EXPORT_COLUMNS, rows=selectors.compliance_export_rows(region=region)
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="compliance-{scope}-{stamp}.csv"'
    return response


@require_POST
@role_required(Role.MANAGER)
def sweep_start_view(request: HttpRequest) -> HttpResponse:
    # A manager sweeps their own region whatever the form says; a global admin the region
    # picked, or every region.
    region, _ = selectors.region_choice(user=request.user, slug=request.POST.get("region"))
    scope = region.slug if region else selectors.ALL_REGIONS
    sweep, _ = sweep_request(
        region=region,
        requested_by=str(request.user),
        audit=lambda sweep: audit_record(
            action="compliance.sweep", request=request, detail={"region": scope}
        ),
    )
    return _sweep_status(request, sweep, region)


@role_required(Role.MANAGER)
def sweep_status_view(request: HttpRequest, sweep_id: int) -> HttpResponse:
    """The sweep's progress, polled by the dashboard; `?region=` is the page's region, kept
    in the Reload link and in the counts ("in EU: …"). When the sweep has finished, the
    response tells the page (HX-Trigger: sweep-finished) so its cards and table refresh."""
    sweep = selectors.sweep_for_user(user=request.user, sweep_id=sweep_id)
    region, _ = selectors.region_choice(user=request.user, slug=request.GET.get("region"))
    response = _sweep_status(request, sweep, region, just_finished=sweep.finished)
    if sweep.finished:
        response["HX-Trigger"] = "sweep-finished"
    return response


def _sweep_status(
    request: HttpRequest,
    sweep: ComplianceSweep,
    region: Region | None,
    *,
    just_finished: bool = False,
) -> HttpResponse:
    return render(
        request,
        "compliance/_sweep_status.html",
        {
            "sweep": sweep,
            "region_slug": region.slug if region else selectors.ALL_REGIONS,
            "sweep_counts": selectors.sweep_counts(sweep=sweep, region=region),
            "just_finished": just_finished,
        },
    )


NONCOMPLIANT_PAGE = 50


@dataclass(frozen=True)
class _NoncompliantQuery:
    region: Region | None
    regions: list[Region]
    q: str
    os: str
    policy: str

    @property
    def slug(self) -> str:
        return self.region.slug if self.region else selectors.ALL_REGIONS

    @property
    def filters(self) -> dict[str, str]:
        return {"q": self.q, "os": self.os, "policy": self.policy}

    @property
    def keep(self) -> dict[str, str]:
        """The filters as links keep them: the region and the form's."""
        return {"region": self.slug, **self.filters}

    def devices(self, order: list[str] | None = None) -> QuerySet[NoncompliantDevice]:
        return selectors.noncompliant_devices(region=self.region, order=order, **self.filters)


def _noncompliant_query(request: HttpRequest) -> _NoncompliantQuery:
    region, regions = selectors.region_choice(user=request.user, slug=request.GET.get("region"))
    return _NoncompliantQuery(
        region=region,
        regions=regions,
        q=request.GET.get("q", "")[:100],
        os=request.GET.get("os", "")[:64],
        policy=request.GET.get("policy", "")[:256],
    )


@role_required(Role.MANAGER)
def noncompliant_view(request: HttpRequest) -> HttpResponse:
    """Every noncompliant device of the region's customers, from the sweeps' stored data."""
    query = _noncompliant_query(request)
    tv = tables.table_for(request, tables.NONCOMPLIANT, query.keep)
    devices = query.devices(order=tv.sort.order_by())
    page = DeferredJoinPaginator(devices, NONCOMPLIANT_PAGE).get_page(request.GET.get("page"))
    for device in page:
        device.policies = selectors.failing_policy_names(device)
    choices = selectors.noncompliant_choices(region=query.region)
    return render(
        request,
        "compliance/noncompliant.html",
        {
            "page": page,
            **query.filters,
            "systems": choices.systems,
            "policies": choices.policies,
            "region": query.region,
            "regions": query.regions,
            "region_slug": query.slug,
            "tv": tv,
            "nav": "compliance",
        },
    )


@role_required(Role.MANAGER)
def noncompliant_export_view(request: HttpRequest) -> StreamingHttpResponse:
    query = _noncompliant_query(request)
    order = tables.NONCOMPLIANT.sort_of(request.GET).order_by()  # the page's order
    audit_record(
        action="compliance.noncompliant_export",
        request=request,
        detail={"region": query.slug, **query.filters},
    )
    lines = csv_lines(
        header=selectors.NONCOMPLIANT_COLUMNS,
        rows=selectors.noncompliant_export_rows(query.devices(order=order)),
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="noncompliant-{query.slug}-{stamp}.csv"'
    )
    return response


@role_required(Role.MANAGER)
def report_view(request: HttpRequest) -> HttpResponse:
    """The region's weekly compliance report as it stands now (printable), from stored data."""
    region = selectors.report_region(user=request.user, slug=request.GET.get("region"))
    report = compliance_report_build(region=region)
    return render(
        request,
        "compliance/report.html",
        {
            "report": report,
            "region_slug": report.region_slug,
            "regions": selectors.region_choice(user=request.user, slug=None)[1],
            "nav": "compliance",
        },
    )


@role_required(Role.MANAGER)
def report_export_view(request: HttpRequest) -> StreamingHttpResponse:
    region = selectors.report_region(user=request.user, slug=request.GET.get("region"))
    report = compliance_report_build(region=region)
    audit_record(
        action="compliance.report_export",
        request=request,
        detail={"region": report.region_slug, "period": report.period},
    )
    lines = csv_lines(header=REPORT_CSV_COLUMNS, rows=report_csv_rows(report))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="compliance-report-{report.region_slug}-{report.period}.csv"'
    )
    return response
