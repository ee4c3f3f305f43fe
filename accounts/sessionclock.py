"""When a session signed in and when it was last used: the clock of the session timeouts."""

import time

from django.contrib.sessions.backends.base import SessionBase

AUTH_AT = "_auth_at"
SEEN_AT = "_seen_at"
# When Microsoft last confirmed the session (the re-check), and when to ask again after
# Microsoft could not answer.
CHECKED_AT = "_checked_at"
RECHECK_RETRY_AT = "_recheck_retry_at"


def now() -> float:
    return time.time()


def mark_signed_in(session: SessionBase) -> None:
    """Start both timeouts at sign-in (the absolute one never moves after this)."""
    session[AUTH_AT] = session[SEEN_AT] = session[CHECKED_AT] = now()
