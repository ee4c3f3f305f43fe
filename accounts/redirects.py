"""Where a request without a live session goes: the sign-in page (htmx included: a full page
load, not a fragment), and ending a session with a sentence for that page."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.services import safe_next, signout
from audit.services import audit_record


def _htmx_page(request: HttpRequest) -> str | None:
    """The path (and query) of the page an htmx request came from, if it is on this site."""
    current = request.headers.get("HX-Current-URL", "")
    if not current or not url_has_allowed_host_and_scheme(
        current, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(current)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path or None


def login_redirect(request: HttpRequest) -> HttpResponse:
    """Send a request without a (live) session to sign-in, back to where it was after.

    An htmx request would follow a 302 inside its XMLHttpRequest and paste the sign-in page
    into a fragment: it gets `HX-Redirect`, which htmx answers with a full page load. htmx
    ignores response headers of 3xx answers (the browser has already followed them) but reads
    HX-Redirect before it decides whether to swap, so a 401 carries it as well as a 200 would,
    and says to anyone else what happened.
    # Reference: https://htmx.org/headers/hx-redirect/
    # Reference: https://htmx.org/reference/#response_headers
    """
    if request.headers.get("HX-Request") != "true":
        return redirect_to_login(request.get_full_path())
    page = safe_next(request, _htmx_page(request))
    response = HttpResponse("Your session has ended. Please sign in again.", status=401)
    response["HX-Redirect"] = f"{reverse('signin')}?next={quote(page, safe='/')}"
    return response


def session_end(*, request: HttpRequest, reason: str, message: str) -> HttpResponse:
    """End the request's session because of `reason` (audited as `session.ended`), keep
    `message` for the sign-in page, and send the browser there."""
    audit_record(action="session.ended", request=request, detail={"reason": reason})
    signout(request=request, audited=False)
    messages.info(request, message)
    return login_redirect(request)
