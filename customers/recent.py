"""The customers an agent opened last, newest first, kept in their session (the switcher's
"recent")."""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase

from customers.models import Customer

SESSION_KEY = "recent_customers"
RECENT_MAX = 8


def recent_record(*, session: SessionBase, customer: Customer) -> None:
    """Put `customer` first among the session's recent customers (at most RECENT_MAX)."""
    tenant_id = str(customer.tenant_id)
    recent = recent_tenant_ids(session=session)
    if recent[:1] == [tenant_id]:
        return  # already first: no session write on every page of the same customer
    session[SESSION_KEY] = [tenant_id, *(t for t in recent if t != tenant_id)][:RECENT_MAX]


def recent_tenant_ids(*, session: SessionBase) -> list[str]:
    """The session's recent tenant ids, newest first. Only ids: whoever shows them scopes them
    to the user's region again (a session is not a permission)."""
    stored = session.get(SESSION_KEY)
    if not isinstance(stored, list):
        return []
    return [t for t in stored if isinstance(t, str)][:RECENT_MAX]
