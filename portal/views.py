"""Project-level views: home redirect, health, error pages."""

import logging
import time

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.views.decorators.cache import never_cache

from portal.celery import app as celery_app

logger = logging.getLogger(__name__)


def home_view(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("signin")
    if request.user.role == "none":
        return redirect("no_access")
    # Managers work from the compliance dashboard; agents from the customers; admins from the
    # customers too, unless their regions' setup needs them (regionadmin decides).
    if request.user.role == "manager":
        return redirect("compliance_dashboard")
    if request.user.role in ("admin", "global_admin"):
        return redirect("admin_landing")
    return redirect("customer_list")


def _check(fn) -> dict:
    started = time.perf_counter()
    try:
        fn()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    cache.set("healthz", "1", 5)
    if cache.get("healthz") != "1":
        raise RuntimeError("cache read-back failed")


def _broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _may_see_details(request: HttpRequest) -> bool:
    # portal/ sits below accounts/: the role is asked by name (global admins rank above admin).
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.has_role("admin"))


@never_cache
def healthz_view(request: HttpRequest) -> JsonResponse:
    """Readiness of the database, cache and broker. Anyone learns only the overall status;
    signed-in admins also see each check with its timing (what is down, for people)."""
    checks = {"database": _check(_database), "cache": _check(_cache), "broker": _check(_broker)}
    ready = all(c["ok"] for c in checks.values())
    body: dict[str, object] = {"status": "ok" if ready else "degraded"}
    if _may_see_details(request):
        body["checks"] = checks
    return JsonResponse(body, status=200 if checks["database"]["ok"] else 503)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "csrf_failure.html", status=403)


def _error_page(
    request: HttpRequest, template: str, status: int, **context: object
) -> HttpResponse:
    return render(request, template, {"status": status, **context}, status=status)


def page_not_found(request: HttpRequest, exception: Exception | None) -> HttpResponse:
    """404 inside the portal's frame (navigation when signed in), with the request id."""
    return _error_page(request, "404.html", 404)


def permission_denied(request: HttpRequest, exception: Exception | None) -> HttpResponse:
    """403 in the frame; the view's reason (PermissionDenied's message) when it gave one."""
    reason = str(exception) if exception is not None and str(exception) else ""
    return _error_page(request, "403.html", 403, exception=reason)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 in the frame when it can be drawn; when drawing it fails too (the database is what
    broke, say), a page that needs nothing but the request id."""
    try:
        return _error_page(request, "500.html", 500)
    except Exception:
        logger.exception("The error page could not be drawn; a plain one was sent.")
        request_id = escape(getattr(request, "request_id", ""))
        return HttpResponseServerError(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Something went wrong · CSP Portal</title></head><body><main>"
            "<h1>Something went wrong</h1><p>The error was logged. Try again in a minute; if it "
            "keeps happening, tell your portal admin and quote the request id "
            f'<code>{request_id}</code>.</p><p><a href="/">Back to the portal</a></p>'
            "</main></body></html>"
        )
