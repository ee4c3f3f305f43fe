"""The new tenant's initial admin credentials: held encrypted until shown once.

They are never written anywhere in clear — not the database, a log, a task or a URL: the row
holds them Fernet-encrypted (PORTAL_ENCRYPTION_KEYS) and the first page that shows them deletes
it; whoever deletes the row is the one request that may show them. Only a POST (the agent's
"Reveal") deletes it: a GET — a prefetch, a link preview, a reload — never consumes them.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from portal import crypto
from provisioning.models import HeldCredentials
from provisioning.services import InitialCredentials

# Credentials nobody came back for are dropped after this.
HOLD_FOR = timedelta(hours=1)


def credentials_keep(*, user: User, tenant_id: str, credentials: InitialCredentials) -> None:
    sealed = crypto.encrypt(
        json.dumps({"user_name": credentials.user_name, "password": credentials.password})
    )
    HeldCredentials.objects.update_or_create(
        user=user, tenant_id=tenant_id, defaults={"sealed": sealed}
    )


def credentials_held(*, user: User, tenant_id: str) -> bool:
    """Whether credentials for `tenant_id` wait for `user` to reveal them."""
    return HeldCredentials.objects.filter(
        user=user, tenant_id=tenant_id, created_at__gte=timezone.now() - HOLD_FOR
    ).exists()


def credentials_pop(*, user: User, tenant_id: str) -> InitialCredentials | None:
    """The credentials for `tenant_id`, deleted as they are read (shown once)."""
    HeldCredentials.objects.filter(created_at__lt=timezone.now() - HOLD_FOR).delete()
    row = HeldCredentials.objects.filter(user=user, tenant_id=tenant_id).first()
    if row is None:
        return None
    deleted, _ = HeldCredentials.objects.filter(pk=row.pk).delete()
    if not deleted:  # a parallel request showed them first
        return None
    try:
        data = json.loads(crypto.decrypt(row.sealed))
    except (crypto.InvalidToken, ValueError):
        return None
    return InitialCredentials(user_name=data["user_name"], password=data["password"])
