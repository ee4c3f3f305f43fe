"""The new tenant's initial admin credentials: held encrypted in the session until shown once.

They are never written to the database in clear, a log, a task or a URL: the session value is
Fernet-encrypted (PORTAL_ENCRYPTION_KEYS) and deleted by the first page that shows it.
"""

from __future__ import annotations

import json

from django.contrib.sessions.backends.base import SessionBase

from portal import crypto
from provisioning.services import InitialCredentials

SESSION_KEY = "provisioning.credentials"


def credentials_keep(
    *, session: SessionBase, tenant_id: str, credentials: InitialCredentials
) -> None:
    held = dict(session.get(SESSION_KEY) or {})
    held[str(tenant_id)] = crypto.encrypt(
        json.dumps({"user_name": credentials.user_name, "password": credentials.password})
    )
    session[SESSION_KEY] = held


def credentials_pop(*, session: SessionBase, tenant_id: str) -> InitialCredentials | None:
    """The credentials for `tenant_id`, removed from the session (shown once)."""
    held = dict(session.get(SESSION_KEY) or {})
    sealed = held.pop(str(tenant_id), None)
    if sealed is None:
        return None
    if held:
        session[SESSION_KEY] = held
    else:
        session.pop(SESSION_KEY, None)
    try:
        data = json.loads(crypto.decrypt(sealed))
    except (crypto.InvalidToken, ValueError):
        return None
    return InitialCredentials(user_name=data["user_name"], password=data["password"])
