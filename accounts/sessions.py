"""A user's signed-in browsers: tracked at sign-in and on use, ended by an admin (the way a
request without a live session is sent back to sign-in is accounts.redirects)."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

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
