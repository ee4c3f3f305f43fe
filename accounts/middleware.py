"""Idle and absolute session timeouts for signed-in users."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from accounts.services import signout

_AUTH_AT = "_auth_at"
_SEEN_AT = "_seen_at"
# Touching the session on every request would write to the database each time.
_TOUCH_EVERY = 60


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            session = request.session
            auth_at = session.setdefault(_AUTH_AT, now)
            seen_at = session.get(_SEEN_AT, now)
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
            if now - seen_at > _TOUCH_EVERY or _SEEN_AT not in session:
                session[_SEEN_AT] = now
        return self.get_response(request)
