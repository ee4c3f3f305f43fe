"""Signed-in sessions: idle and absolute timeouts (shorter for admins), and the silent
re-check with Microsoft that ends a session Entra no longer accepts and applies role changes."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from accounts import sessionclock
from accounts.models import Role, User
from accounts.recheck import Recheck, Verdict, role_of, session_recheck
from accounts.redirects import session_end
from accounts.services import user_role_set
from accounts.sessions import user_session_track
from audit.services import audit_record
from regions.clients import session_tokens_forget
from regions.selectors import region_for_username

# Touching the session on every request would write to the database each time.
_TOUCH_EVERY = 60

_IDLE = "You were signed out after a period of inactivity. Please sign in again."
_EXPIRED = "Your sign-in has expired. Please sign in again."
_REVOKED = (
    "Microsoft no longer accepts your sign-in (it was revoked, expired, or your password "
    "changed), so the portal signed you out. Please sign in again."
)
_REGION = (
    "Your account no longer belongs to the region you signed in to, so the portal signed you "
    "out. Please sign in again."
)


def absolute_timeout(user: User) -> int:
    """Seconds a sign-in lasts at most: shorter for those who may change configuration."""
    if user.role in {Role.ADMIN, Role.GLOBAL_ADMIN}:
        return min(settings.SESSION_ADMIN_ABSOLUTE_TIMEOUT, settings.SESSION_ABSOLUTE_TIMEOUT)
    return settings.SESSION_ABSOLUTE_TIMEOUT


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            ended = self._check(request)
            if ended is not None:
                return ended
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        now = sessionclock.now()
        session = request.session
        auth_at = session.setdefault(sessionclock.AUTH_AT, now)
        seen_at = session.get(sessionclock.SEEN_AT, now)
        if now - seen_at > settings.SESSION_IDLE_TIMEOUT:
            return session_end(request=request, reason="idle", message=_IDLE)
        if now - auth_at > absolute_timeout(request.user):
            return session_end(request=request, reason="absolute", message=_EXPIRED)
        if _recheck_due(session, now, auth_at):
            ended = self._recheck(request, now)
            if ended is not None:
                return ended
        if now - seen_at > _TOUCH_EVERY or sessionclock.SEEN_AT not in session:
            session[sessionclock.SEEN_AT] = now
            user_session_track(request=request)
        return None

    def _recheck(self, request: HttpRequest, now: float) -> HttpResponse | None:
        session = request.session
        result = session_recheck(request=request)
        if result.verdict == Verdict.UNAVAILABLE:
            # Microsoft being down is not a verdict: say nothing, ask again a little later.
            session[sessionclock.RECHECK_RETRY_AT] = now + settings.SESSION_RECHECK_RETRY_SECONDS
            return None
        if result.verdict == Verdict.ENDED:
            return session_end(request=request, reason=result.reason, message=_REVOKED)
        session[sessionclock.CHECKED_AT] = now
        session.pop(sessionclock.RECHECK_RETRY_AT, None)
        if result.verdict == Verdict.LIVE:
            return _apply(request, result)
        return None


def _recheck_due(session: SessionBase, now: float, auth_at: float) -> bool:
    checked_at = session.get(sessionclock.CHECKED_AT, auth_at)
    retry_at = session.get(sessionclock.RECHECK_RETRY_AT, 0)
    return now - checked_at >= settings.SESSION_RECHECK_SECONDS and now >= retry_at


def _apply(request: HttpRequest, result: Recheck) -> HttpResponse | None:
    """What the new ID token says now: a moved account ends the session, a changed role
    takes effect at once (a removed one: the no-access page; a lower one: 403 where needed)."""
    user = request.user
    username = str(result.claims.get("preferred_username") or user.upn)
    if region_for_username(username=username) != user.region:
        return session_end(request=request, reason="region_changed", message=_REGION)
    role = role_of(result)
    if role != user.role:
        before = user.role
        with transaction.atomic():
            user_role_set(user, role)
            user.save(update_fields=["role", "is_staff", "is_superuser"])
            audit_record(
                action="user.role_changed",
                request=request,
                detail={"role": [before, str(role)], "source": "session re-check"},
            )
        if role == Role.NONE:
            session_tokens_forget(session=request.session)
    return None
