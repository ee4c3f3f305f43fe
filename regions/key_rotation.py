"""The sessions' encrypted token caches, re-encrypted with the newest key (key rotation)."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from portal import crypto
from regions.token_caches import SESSION_KEY


def sessions_rotate() -> crypto.Rotation:
    """Every live session's MSAL cache under the newest key. A cache no key decrypts is
    dropped (as reading it would: the user signs in again) and counted, never shown."""
    result = crypto.Rotation()
    live = Session.objects.filter(expire_date__gt=timezone.now())
    for key in live.values_list("session_key", flat=True).iterator():
        with transaction.atomic():
            row = Session.objects.select_for_update().filter(session_key=key).first()
            if row is None:
                continue
            data = row.get_decoded()
            blob = data.get(SESSION_KEY)
            if not blob:
                continue
            try:
                data[SESSION_KEY] = crypto.rotate(blob)
                result.rotated += 1
            except crypto.InvalidToken:
                data.pop(SESSION_KEY)
                result.dropped += 1
            Session.objects.save(key, data, row.expire_date)
    return result
