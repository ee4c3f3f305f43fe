"""`/livez` and `/readyz`: probes for load balancers and orchestrators (DESIGN.md URL map).

Answered by the first middleware, before SecurityMiddleware, CommonMiddleware, sessions and
CSRF: they read no Host header (a kubelet or load balancer asks by IP: ALLOWED_HOSTS would
answer 400), are never redirected to https, touch no session, and say only ok or not.
/readyz checks the database and the broker at once, each in its own thread, and answers
within READY_DEADLINE_SECONDS whatever hangs: a check still running then counts as down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from portal.celery import app as celery_app

READY_DEADLINE_SECONDS = 0.8
PROBE_PATHS = ("/livez", "/readyz")


def database_ping() -> None:
    """SELECT 1 on this thread's connection (closed afterwards: probe threads are short-lived)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def broker_ping(timeout: float = READY_DEADLINE_SECONDS) -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)


def checks_within(
    checks: dict[str, Callable[[], None]], *, deadline: float = READY_DEADLINE_SECONDS
) -> dict[str, bool]:
    """Run every check at once; {name: ok}. A check not done by the deadline is not ok."""
    outcome: dict[str, bool] = {}

    def run(name: str, check: Callable[[], None]) -> None:
        try:
            check()
        except Exception:  # any failure is "not ready"; the probe says no more than that
            outcome[name] = False
        else:
            outcome[name] = True

    threads = [
        threading.Thread(target=run, args=(name, check), daemon=True, name=f"readyz-{name}")
        for name, check in checks.items()
    ]
    for thread in threads:
        thread.start()
    ends = time.monotonic() + deadline
    for thread in threads:
        thread.join(max(0.0, ends - time.monotonic()))
    return {name: outcome.get(name, False) for name in checks}


def readiness() -> dict[str, bool]:
    return checks_within({"database": database_ping, "broker": broker_ping})


class ProbeMiddleware:
    """Answers /livez and /readyz itself; everything else goes on down the stack."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info.rstrip("/") or "/"
        if path not in PROBE_PATHS or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if path == "/livez":
            response = JsonResponse({"status": "ok"})
        else:
            checks = readiness()
            ready = all(checks.values())
            response = JsonResponse(
                {"status": "ok" if ready else "unavailable", "checks": checks},
                status=200 if ready else 503,
            )
        response["Cache-Control"] = "no-store"
        return response
