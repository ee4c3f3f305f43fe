"""Reads of a search across customers: the plan (which customers from the index, which live,
which skipped and why) and the index's answer, in a few queries whatever the region's size."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Manager, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from customers.switcher import switcher_query_clean
from search.models import IndexedDevice, IndexedTenant, IndexedUser
from search.reach import CustomerRef, Reach, region_reach


def query_clean(q: str) -> str:
    """`q` as the tenant switcher cleans what is typed (no control characters, ≤ 100)."""
    return switcher_query_clean(q)


@dataclass(frozen=True)
class Hit:
    kind: str  # "user" or "device"
    customer: CustomerRef
    object_id: str
    title: str
    detail: str
    state: str
    source: str  # "index" or "live"
    as_of: datetime | None = None

    @property
    def url(self) -> str:
        name = "customer_user" if self.kind == "user" else "customer_managed_device"
        key = "user_id" if self.kind == "user" else "device_id"
        return reverse(name, kwargs={"tenant_id": self.customer.tenant_id, key: self.object_id})


@dataclass(frozen=True)
class Skipped:
    customer: CustomerRef
    reason: str


@dataclass
class Plan:
    """Who is searched how. `indexed` customers answer from the database; `live` ones are
    asked over Graph with the agent's token (in chunks, streamed into the page)."""

    indexed_users: dict[int, datetime] = field(default_factory=dict)  # customer pk: as of
    indexed_devices: dict[int, datetime] = field(default_factory=dict)
    live: list[Reach] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    customers: dict[int, CustomerRef] = field(default_factory=dict)
    region_id: int | None = None
    # Customers of the region whose rows the index holds but this agent may not see there
    # (or that are too old): left out of the query, which filters on the region first.
    hidden_users: set[int] = field(default_factory=set)
    hidden_devices: set[int] = field(default_factory=set)

    @property
    def searched(self) -> int:
        return len(set(self.indexed_users) | set(self.indexed_devices)) + len(self.live)

    def live_chunks(self) -> int:
        size = settings.SEARCH_LIVE_CHUNK
        return (len(self.live) + size - 1) // size

    def live_chunk(self, number: int) -> list[Reach]:
        size = settings.SEARCH_LIVE_CHUNK
        return self.live[number * size : (number + 1) * size]


_NOT_INDEXED = (False, False, None)


def search_plan(*, user: User, agent_groups: dict[str, str] | None) -> Plan:
    plan = Plan(region_id=user.region_id)
    reaches = region_reach(user=user, agent_groups=agent_groups)
    fresh_after = timezone.now() - timedelta(seconds=settings.SEARCH_INDEX_MAX_AGE)
    states = {}
    for customer_id, users, devices, refreshed_at in IndexedTenant.objects.filter(
        customer__region_id=user.region_id
    ).values_list("customer_id", "users", "devices", "refreshed_at"):
        if users:
            plan.hidden_users.add(customer_id)
        if devices:
            plan.hidden_devices.add(customer_id)
        if refreshed_at is not None and refreshed_at >= fresh_after:
            states[customer_id] = (users, devices, refreshed_at)
    live_max = settings.SEARCH_LIVE_MAX_CUSTOMERS
    for reach in reaches:
        customer = reach.customer
        plan.customers[customer.pk] = customer
        if not reach.any:
            plan.skipped.append(Skipped(customer, reach.reason))
            continue
        has_users, has_devices, as_of = (
            states.get(customer.pk, _NOT_INDEXED) if reach.known else _NOT_INDEXED
        )
        users_indexed = has_users and reach.users
        devices_indexed = has_devices and reach.devices
        if users_indexed:
            plan.indexed_users[customer.pk] = as_of
            plan.hidden_users.discard(customer.pk)
        if devices_indexed:
            plan.indexed_devices[customer.pk] = as_of
            plan.hidden_devices.discard(customer.pk)
        missing_users = reach.users and not users_indexed
        missing_devices = reach.devices and not devices_indexed
        if not (missing_users or missing_devices):
            continue
        if len(plan.live) >= live_max:
            plan.skipped.append(
                Skipped(
                    customer,
                    f"not in the search index yet, and more than {live_max} customers would "
                    "be searched live; the index takes it in after the next customer sync",
                )
            )
            continue
        plan.live.append(
            Reach(customer, users=missing_users, devices=missing_devices, known=reach.known)
        )
    return plan


def _version_key(region_id: int | None) -> str:
    return f"search:plan-version:{region_id}"


def plans_outdate(*, region_id: int) -> None:
    """The region's customers, relationships or index changed (a sync, an index refresh):
    plans cached before now are not used again."""
    cache.set(_version_key(region_id), time.time_ns(), None)


def search_plan_cached(
    *, user: User, session_key: str, agent_groups: dict[str, str] | None
) -> Plan:
    """`search_plan`, kept SEARCH_PLAN_CACHE_SECONDS per sign-in and set of groups, until
    the region syncs or its index is refreshed: typing one search after another costs the
    plan once (a plan of 1,000 customers takes ~25 ms to build)."""
    version = cache.get(_version_key(user.region_id)) or 0
    groups = "none" if agent_groups is None else ",".join(sorted(agent_groups))
    digest = hashlib.sha256(f"{session_key}|{groups}|{version}".encode()).hexdigest()[:40]
    key = f"search:plan:{user.pk}:{user.region_id}:{digest}"
    plan = cache.get(key)
    if isinstance(plan, Plan):
        return plan
    plan = search_plan(user=user, agent_groups=agent_groups)
    cache.set(key, plan, settings.SEARCH_PLAN_CACHE_SECONDS)
    return plan


@dataclass
class IndexAnswer:
    hits: list[Hit]
    more_users: bool
    more_devices: bool


def index_search(*, plan: Plan, q: str, limit: int) -> IndexAnswer:
    """Users and devices of the plan's indexed customers whose text contains `q`: two
    queries, each on the trigram index (PostgreSQL), at most `limit` rows of each kind."""
    needle = q.lower()
    hits: list[Hit] = []
    more_users = more_devices = False
    if plan.indexed_users:
        rows = list(
            _visible(IndexedUser.objects, plan, plan.indexed_users, plan.hidden_users)
            .filter(text__contains=needle)
            .order_by("display_name", "user_principal_name")
            .values(
                "customer_id",
                "object_id",
                "display_name",
                "user_principal_name",
                "mail",
                "account_enabled",
            )[: limit + 1]
        )
        more_users = len(rows) > limit
        for row in rows[:limit]:
            detail = row["user_principal_name"]
            if row["mail"] and row["mail"].lower() != detail.lower():
                detail = f"{detail} · {row['mail']}"
            hits.append(
                Hit(
                    "user",
                    plan.customers[row["customer_id"]],
                    row["object_id"],
                    row["display_name"] or row["user_principal_name"],
                    detail,
                    account_state(row["account_enabled"]),
                    "index",
                    plan.indexed_users[row["customer_id"]],
                )
            )
    if plan.indexed_devices:
        rows = list(
            _visible(IndexedDevice.objects, plan, plan.indexed_devices, plan.hidden_devices)
            .filter(text__contains=needle)
            .order_by("device_name", "serial_number")
            .values(
                "customer_id",
                "object_id",
                "device_name",
                "serial_number",
                "operating_system",
                "compliance_state",
                "user_principal_name",
            )[: limit + 1]
        )
        more_devices = len(rows) > limit
        for row in rows[:limit]:
            hits.append(
                Hit(
                    "device",
                    plan.customers[row["customer_id"]],
                    row["object_id"],
                    row["device_name"] or row["object_id"],
                    device_detail(row),
                    row["compliance_state"],
                    "index",
                    plan.indexed_devices[row["customer_id"]],
                )
            )
    return IndexAnswer(hits, more_users, more_devices)


def _visible(
    manager: Manager, plan: Plan, shown: dict[int, datetime], hidden: set[int]
) -> QuerySet:
    """The rows of the customers in `shown`: the region's rows without the `hidden` ones when
    those are fewer (the usual case: an agent reaches most customers), else `shown` by id.
    Either way only rows of the plan's region, and of customers the agent may see there."""
    rows = manager.filter(region_id=plan.region_id)
    if len(hidden) < len(shown):
        return rows.exclude(customer_id__in=list(hidden)) if hidden else rows
    return rows.filter(customer_id__in=list(shown))


def account_state(enabled: bool | None) -> str:
    return {True: "Enabled", False: "Blocked"}.get(enabled, "")  # type: ignore[arg-type]


def device_detail(row: dict) -> str:
    parts = [
        f"Serial {row['serial_number']}" if row.get("serial_number") else "",
        row.get("operating_system") or "",
        row.get("user_principal_name") or "",
    ]
    return " · ".join(p for p in parts if p)
