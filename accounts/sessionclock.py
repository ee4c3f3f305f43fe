"""When a session signed in and when it was last used: the clock of the session timeouts."""

import time

from django.contrib.sessions.backends.base import SessionBase

AUTH_AT = "_auth_at"
SEEN_AT = "_seen_at"


def now() -> float:
    return time.time()


def mark_signed_in(session: SessionBase) -> None:
    """Start both timeouts at sign-in (the absolute one never moves after this)."""
    session[AUTH_AT] = session[SEEN_AT] = now()
