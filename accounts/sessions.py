"""A user's signed-in browsers: tracked at sign-in and on use, ended by an admin or by
Microsoft, and the way an ended session is sent back to sign-in (htmx included)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import User, UserSession
from audit.services import audit_record

_USER_AGENT_MAX = 120


def _browser(request: HttpRequest) -> str:
    return " ".join(request.headers.get("User-Agent", "").split())[:_USER_AGENT_MAX]


def user_session_track(*, request: HttpRequest) -> None:
    """Record (or refresh) the request's session as one of its user's signed-in browsers."""
    key = request.session.session_key
    if not key or not request.user.is_authenticated:
        return
    UserSession.objects.update_or_create(
        session_key=key,
        defaults={
            "user": request.user,
            "last_seen_at": timezone.now(),
            "user_agent": _browser(request),
        },
    )


def user_session_forget(*, session_key: str | None) -> None:
    """The session ended (sign-out, timeout, Microsoft): it is no longer a signed-in browser."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def user_sessions_active(*, user: User) -> int:
    """How many of the user's sessions still exist and have not expired."""
    return Session.objects.filter(
        session_key__in=UserSession.objects.filter(user=user).values("session_key"),
        expire_date__gt=timezone.now(),
    ).count()


@transaction.atomic
def user_sessions_end(*, user: User, by: User, request: HttpRequest | None = None) -> int:
    """End every signed-in session of `user` (their token caches go with the session rows);
    audited with the counts before and after. Returns how many sessions were ended."""
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    before = user_sessions_active(user=user)
    ended, _ = Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(session_key__in=keys).delete()
    audit_record(
        action="user.sessions_end",
        request=request,
        user=by,
        region=user.region.slug if user.region else "",
        detail={
            "target": user.upn or user.username,
            "sessions": {"before": before, "after": user_sessions_active(user=user)},
            "ended": ended,
        },
    )
    return ended


def user_sessions_prune() -> int:
    """Forget tracked sessions whose session row is gone or expired (clearsessions' partner)."""
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    deleted, _ = UserSession.objects.exclude(session_key__in=live).delete()
    return deleted


# --------------------------------------------------------------------------- back to sign-in


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
    # Imported here: accounts.services imports this module.
    from accounts.services import safe_next

    if request.headers.get("HX-Request") != "true":
        return redirect_to_login(request.get_full_path())
    page = safe_next(request, _htmx_page(request))
    response = HttpResponse("Your session has ended. Please sign in again.", status=401)
    response["HX-Redirect"] = f"{reverse('signin')}?next={quote(page, safe='/')}"
    return response


def session_end(*, request: HttpRequest, reason: str, message: str) -> HttpResponse:
    """End the request's session because of `reason` (audited as `session.ended`), keep
    `message` for the sign-in page, and send the browser there."""
    from accounts.services import signout

    audit_record(action="session.ended", request=request, detail={"reason": reason})
    signout(request=request, audited=False)
    messages.info(request, message)
    return login_redirect(request)
