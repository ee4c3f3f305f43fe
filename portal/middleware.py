"""Response headers that every page carries (CSP, no-store for signed-in pages, timing) and
the portal's 404 page under DEBUG."""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        form_action = " ".join(["'self'", *settings.CSP_FORM_ACTION])
        self.csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            f"frame-ancestors 'none'; form-action {form_action}"
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.csp)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Pages show customer data: never let a shared proxy or the back button keep them.
            response["Cache-Control"] = "no-store"
        return response


class ServerTimingMiddleware:
    """`Server-Timing: app;dur=<ms>` on every response: what benchmarks and browsers read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response


class DebugNotFoundMiddleware:
    """With DEBUG on (the demo), answer a 404 with the portal's page rather than Django's
    technical one, which lists every URL pattern. Without DEBUG, Django already calls our
    handler404 and this does nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG:
            # Django resolves the URL outside the view's exception hooks: check first.
            try:
                resolve(request.path_info)
            except Resolver404:
                from portal.views import page_not_found

                return page_not_found(request, None)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            from portal.views import page_not_found

            return page_not_found(request, exception)
        return None
