"""Background upkeep of sessions."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.management import call_command

from accounts.sessions import user_sessions_prune

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def sessions_clear() -> int:
    """Delete expired sessions (Django's `clearsessions`; each may hold an encrypted refresh
    token) and forget the tracked browsers whose session is gone. Returns rows forgotten."""
    call_command("clearsessions")
    forgotten = user_sessions_prune()
    log.info("sessions cleared; %d tracked sessions forgotten", forgotten)
    return forgotten
