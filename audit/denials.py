"""Requests refused because they reach into another region: refused as 404, and audited.

A view (or the guard it calls) raises `RegionDenied` instead of a plain Http404 when the object
asked for is not in the user's region; `audit.middleware.DenialAuditMiddleware` records it
(rate-limited per user or client address) and Django answers 404 as for any unknown object, so
the answer does not tell another region's objects from objects that do not exist.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest

from audit.services import audit_record
from portal.clientip import client_ip

_WINDOW = 60  # seconds


class RegionDenied(Http404):
    """404 for the user; an `access.denied` row for the audit log."""

    def __init__(self, message: str, *, kind: str, target: str, exists: bool) -> None:
        super().__init__(message)
        self.kind = kind
        self.target = target[:128]
        self.exists = exists  # True: it is another region's (never shown to the user)


def denial_record(request: HttpRequest, denied: RegionDenied) -> bool:
    """Audit a refused cross-region request unless this user (or address) has had their quota
    this minute; True if a row was written. Over the quota, one `access.denied.throttled` row
    says that more were refused."""
    user = request.user
    who = f"user:{user.pk}" if user.is_authenticated else f"ip:{client_ip(request)}"
    key = f"audit:denied:{who}"
    limit = settings.AUDIT_DENIALS_PER_MINUTE
    try:
        cache.add(key, 0, _WINDOW)
        count = cache.incr(key)
    except Exception:  # the cache is down: auditing every denial beats auditing none
        count = 1
    detail = {
        "kind": denied.kind,
        "target": denied.target,
        "reason": "another region" if denied.exists else "unknown",
        "path": request.path[:256],
        "method": request.method,
    }
    if count <= limit:
        audit_record(action="access.denied", request=request, detail=detail)
        return True
    if count == limit + 1:
        audit_record(
            action="access.denied.throttled",
            request=request,
            detail={**detail, "limit_per_minute": limit},
        )
        return True
    return False
