"""Writes to the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.models import AuditEvent
from portal.clientip import client_ip

if TYPE_CHECKING:
    from django.http import HttpRequest

# Keys whose values never reach the audit log, whatever a caller passes (any depth, any case).
_SECRET_KEYS = {
    "password",
    "client_secret",
    "secret",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "private_key",
    "certificate_key",
    "client_assertion",
    "code",
    "code_verifier",
}


def _hide(value: Any) -> Any:
    # Keep the shape ([old, new] pairs, "was there none?") but never the value.
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [_hide(v) for v in value]
    return "***"


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _hide(v) if str(k).lower() in _SECRET_KEYS else _mask(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def audit_record(
    *,
    action: str,
    request: HttpRequest | None = None,
    user: Any = None,
    actor: str = "",
    region: str = "",
    tenant_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    clean = _mask(detail or {})
    return AuditEvent.objects.create(
        user=user if user is not None and getattr(user, "pk", None) else None,
        actor=actor or (str(user) if user is not None else "anonymous"),
        action=action,
        region=region or getattr(getattr(user, "region", None), "slug", "") or "",
        tenant_id=tenant_id,
        detail=clean,
        ip=client_ip(request) if request is not None else None,
    )
