"""Alert pages: parse input, call one selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from alerts import selectors
from alerts.models import AlertKind, AlertState
from alerts.services import alert_acknowledge

PAGE_SIZE = 25


@role_required(Role.AGENT)
def alert_list_view(request: HttpRequest) -> HttpResponse:
    filters = {
        "region": request.GET.get("region", ""),
        "state": request.GET.get("state", ""),
        "kind": request.GET.get("kind", ""),
    }
    alerts = selectors.alert_list(user=request.user, **filters)
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "alerts/list.html",
        {
            "page": page,
            "filters": filters,
            "query": query,
            "regions": selectors.alert_regions(user=request.user),
            "states": [(s, AlertState(s).label) for s in selectors.UNRESOLVED],
            "kinds": AlertKind.choices,
            "nav": "alerts",
        },
    )


@require_POST
@role_required(Role.AGENT)
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_for_user(user=request.user, alert_id=alert_id)
    if alert_acknowledge(alert=alert, user=request.user, request=request):
        messages.success(request, f"Acknowledged: {alert.title}")
    else:
        messages.info(request, "That alert was already acknowledged or has resolved.")
    return redirect("alert_list")
