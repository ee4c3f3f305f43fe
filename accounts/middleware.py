"""Idle and absolute session timeouts for signed-in users."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from accounts import sessionclock
from accounts.services import signout

# Touching the session on every request would write to the database each time.
_TOUCH_EVERY = 60


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = sessionclock.now()
            session = request.session
            auth_at = session.setdefault(sessionclock.AUTH_AT, now)
            seen_at = session.get(sessionclock.SEEN_AT, now)
            idle = now - seen_at > settings.SESSION_IDLE_TIMEOUT
            expired = now - auth_at > settings.SESSION_ABSOLUTE_TIMEOUT
            if idle or expired:
                signout(request=request)
                messages.info(
                    request,
                    "You were signed out after a period of inactivity. Please sign in again."
                    if idle
                    else "Your sign-in has expired. Please sign in again.",
                )
                return redirect_to_login(request.get_full_path())
            if now - seen_at > _TOUCH_EVERY or sessionclock.SEEN_AT not in session:
                session[sessionclock.SEEN_AT] = now
        return self.get_response(request)
