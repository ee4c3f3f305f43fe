"""The sessions' encrypted token caches, re-encrypted with the newest key (key rotation)."""

from __future__ import annotations

from django.db import transaction

from portal import crypto
from regions.models import SessionTokenCache


def token_caches_rotate() -> crypto.Rotation:
    """Every session token row (regions.SessionTokenCache) under the newest key. A row no key
    decrypts is deleted (as reading it would come to: that tenant's tokens are asked for
    again) and counted, never shown."""
    result = crypto.Rotation()
    rows = SessionTokenCache.objects.exclude(sealed="")
    for pk in rows.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            row = SessionTokenCache.objects.select_for_update().filter(pk=pk).first()
            if row is None or not row.sealed:
                continue
            try:
                row.sealed = crypto.rotate(row.sealed)
            except crypto.InvalidToken:
                row.delete()
                result.dropped += 1
                continue
            row.save(update_fields=["sealed"])
            result.rotated += 1
    return result
