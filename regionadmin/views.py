"""Region configuration and setup checks: admins only; parse, call one service, render."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from accounts.permissions import role_required
from regionadmin.forms import RegionForm
from regionadmin.guard import region_for_admin, regions_for_admin
from regionadmin.selectors import region_attention, setup_verdict
from regions.models import Region
from regions.services import region_check_run, region_preconsent, region_save
from regions.setup import CHECKS, CHECKS_BY_KEY, Status


@role_required(Role.ADMIN)
def region_list_view(request: HttpRequest) -> HttpResponse:
    regions = list(regions_for_admin(user=request.user))
    attention = region_attention(regions=regions, user_region_id=request.user.region_id)
    return render(
        request,
        "regions/list.html",
        {"regions": regions, "attention": attention, "nav": "regions"},
    )


@role_required(Role.ADMIN)
def admin_landing_view(request: HttpRequest) -> HttpResponse:
    """Where an admin lands after sign-in: their regions' setup summary when something there
    needs them (a credential, failing checks, consent), else the customers like an agent."""
    regions = list(regions_for_admin(user=request.user))
    if region_attention(regions=regions, user_region_id=request.user.region_id):
        return redirect("region_list")
    return redirect("customer_list")


def _edit(request: HttpRequest, region: Region) -> HttpResponse:
    created = region.pk is None
    form = RegionForm(request.POST or None, instance=region)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = region_save(
                region=form.instance,
                domains=data["domains"],
                client_secret=data.get("client_secret", ""),
                client_secret_expires_at=data.get("client_secret_expires_at"),
                certificate_pem=data.get("certificate_pem", ""),
                certificate_key=data.get("certificate_key", ""),
                request=request,
            )
        except IntegrityError:
            # Another admin saved a clashing domain, slug or tenant a moment ago.
            form.add_error(
                None,
                "Another region took one of these domains, this slug or this partner tenant "
                "while you were editing. Reload the regions list and try again.",
            )
        else:
            messages.success(
                request,
                f"Region {saved.name} {'created' if created else 'saved'}. Checking setup…",
            )
            return redirect(f"{saved.get_setup_url()}?run=1")
    status = 400 if form.errors else 200
    context = {"form": form, "region": region, "created": created, "nav": "regions"}
    return render(request, "regions/form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@role_required(Role.GLOBAL_ADMIN)  # a new region is a new partner tenant: beyond any one region
def region_create_view(request: HttpRequest) -> HttpResponse:
    return _edit(request, Region())


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def region_edit_view(request: HttpRequest, slug: str) -> HttpResponse:
    return _edit(request, region_for_admin(user=request.user, slug=slug))


def _last_result(stored: dict | None) -> dict | None:
    if not stored:
        return None
    return {"status": stored.get("status"), "at": datetime.fromisoformat(stored["at"])}


@role_required(Role.ADMIN)
def region_setup_view(request: HttpRequest, slug: str) -> HttpResponse:
    region = region_for_admin(user=request.user, slug=slug)
    run = request.GET.get("run") == "1"
    # The checks run one after another: the first row starts on load, each answer starts
    # the next (they share nothing but the partner tenant's patience).
    rows = [
        {
            "check": check,
            "last": _last_result((region.setup_results or {}).get(check.key)),
            "trigger": run and index == 0,
            "queued": run and index > 0,
        }
        for index, check in enumerate(CHECKS)
    ]
    return render(
        request,
        "regions/setup.html",
        {
            "region": region,
            "rows": rows,
            "run": run,
            "nav": "regions",
        },
    )


def _row(
    request: HttpRequest, region: Region, key: str, result: object, notice: str = ""
) -> HttpResponse:
    keys = [c.key for c in CHECKS]
    index = keys.index(key)
    following = CHECKS[index + 1] if index + 1 < len(keys) else None
    results = region.setup_results or {}
    done = following is None and all(k in results for k in keys)
    verdict = setup_verdict(region=region) if done else None
    # A failure on this page (the row just answered) outranks any stored green.
    shown_failure = getattr(result, "status", None) == Status.FAIL
    return render(
        request,
        "regions/_check_result.html",
        {
            "region": region,
            "check": CHECKS_BY_KEY[key],
            "result": result,
            "notice": notice,
            "following": following,
            "done": done,
            "passed": bool(verdict and verdict.passed and not shown_failure),
            "verdict": verdict,
        },
    )


@require_POST
@role_required(Role.ADMIN)
def region_check_view(request: HttpRequest, slug: str, check: str) -> HttpResponse:
    if check not in CHECKS_BY_KEY:
        raise Http404("No such check.")
    region = region_for_admin(user=request.user, slug=slug)
    result = region_check_run(region=region, key=check)
    return _row(request, region, check, result)


@require_POST
@role_required(Role.ADMIN)
def region_preconsent_view(request: HttpRequest, slug: str) -> HttpResponse:
    region = region_for_admin(user=request.user, slug=slug)
    outcome = region_preconsent(region=region, request=request)
    if not request.headers.get("HX-Request"):
        level = messages.SUCCESS if outcome.ok else messages.ERROR
        when = timezone.now().strftime("%H:%M")
        text = outcome.summary if outcome.ok else f"Preconsent at {when} UTC: {outcome.summary}"
        messages.add_message(request, level, text)
        return redirect(f"{region.get_setup_url()}?run=1")
    if not outcome.ok:
        return _row(request, region, "adminagents", outcome)
    result = region_check_run(region=region, key="adminagents")
    return _row(request, region, "adminagents", result, notice=outcome.summary)
