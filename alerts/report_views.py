"""The weekly report's sends of a region, for its admins: parse input, call one read, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Role
from accounts.permissions import role_required
from alerts.reports import report_deliveries_recent
from regionadmin.guard import region_for_admin


@role_required(Role.ADMIN)
def report_deliveries_view(request: HttpRequest, slug: str) -> HttpResponse:
    region = region_for_admin(user=request.user, slug=slug)
    return render(
        request,
        "alerts/report_deliveries.html",
        {
            "region": region,
            "deliveries": report_deliveries_recent(region=region),
            "nav": "regions",
        },
    )
