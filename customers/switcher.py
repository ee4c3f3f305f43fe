"""The tenant switcher's query: the user's customers matching a few typed characters (name,
default domain or tenant id), recent ones first, each linked to the tab the user is on.

From the database only: a keystroke never costs a call to Microsoft."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.urls import reverse

from accounts.models import User
from customers.models import Customer
from customers.selectors import customer_list

Q_MAX = 100  # characters of the query kept; more is never a customer's name
RESULTS_MAX = 10

# The customer tabs a jump keeps (templates/customers/_header.html); anything else, such as a
# user's page or a bulk run, lands on the overview or on the list of its tab.
TAB_URLS = {
    "overview": "customer_overview",
    "users": "customer_users",
    "groups": "customer_groups",
    "devices": "customer_devices",
    "managed-devices": "customer_managed_devices",
    "compliance": "customer_compliance",
    "access": "customer_access",
}


@dataclass(frozen=True)
class SwitcherResult:
    customer: Customer
    url: str
    recent: bool


def switcher_query_clean(q: str) -> str:
    """`q` capped at Q_MAX characters, without control characters (PostgreSQL refuses NUL)."""
    q = unicodedata.normalize("NFC", q[: Q_MAX * 2])
    kept = "".join(c for c in q if unicodedata.category(c) not in {"Cc", "Cs"})
    return kept.strip()[:Q_MAX]


def switcher_scope(*, user: User) -> QuerySet[Customer]:
    """Whose customers the switcher may name: the user's region (customer_list, the region-
    scoped query), for a global admin too: customer pages of another region are 404 to them
    (crossing regions is configuration, compliance and audit, not customer data), so the
    switcher offers none. Inactive regions' customers open nowhere."""
    return customer_list(user=user).filter(region__active=True)


def switcher_search(
    *, user: User, q: str, tab: str = "", recent: list[str] | None = None
) -> list[SwitcherResult]:
    """At most RESULTS_MAX of the user's customers matching `q`, those in `recent` (tenant
    ids, newest first) first. An empty `q` lists the recent ones, then the rest by name."""
    q = switcher_query_clean(q)
    matching = switcher_scope(user=user)
    if q:
        matching = matching.filter(_matches(q))
    recent_ids = [t for t in (_as_uuid(r) for r in recent or []) if t is not None]
    found = {c.tenant_id: c for c in matching.filter(tenant_id__in=recent_ids)}
    first = [found[t] for t in recent_ids if t in found][:RESULTS_MAX]
    rest = list(matching.exclude(tenant_id__in=list(found))[: RESULTS_MAX - len(first)])
    url_name = TAB_URLS.get(tab, TAB_URLS["overview"])
    return [
        SwitcherResult(
            customer=c, url=reverse(url_name, args=[c.tenant_id]), recent=c.tenant_id in found
        )
        for c in [*first, *rest]
    ]


def _matches(q: str) -> Q:
    match = (
        Q(name__icontains=q) | Q(default_domain__icontains=q) | Q(tenant_id__icontains=q.lower())
    )
    tenant_id = _as_uuid(q)
    if tenant_id is not None:
        match |= Q(tenant_id=tenant_id)  # pasted without hyphens, in braces or upper case
    return match


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return None
