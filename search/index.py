"""Refreshing the search index of a region: each customer's users and Intune devices read as
the region's app (client credentials), after every customer sync.

Threads for the reads (the work is waiting on Microsoft), the database in the calling thread
only (as compliance/collect.py). A customer's rows are replaced in one transaction, so a
search sees the old list or the new one, never half. Only what some partner security group of
the region may read through GDAP is read at all (search.reach.indexable); a customer that is
no longer so, or whose app consent went, leaves the index.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.utils import timezone

from customers.access import ACTIVE_STATUSES
from customers.models import ConsentState, Customer, GdapRelationship
from mscloud.errors import ErrorKind, MicrosoftError
from mscloud.identity import IdentityError
from regions.clients import graph_as_app
from regions.models import Region
from search.models import IndexedDevice, IndexedTenant, IndexedUser, IndexStatus
from search.reach import indexable
from search.selectors import plans_outdate

log = logging.getLogger(__name__)

USER_FIELDS = "id,displayName,userPrincipalName,mail,accountEnabled"
DEVICE_FIELDS = "id,deviceName,serialNumber,operatingSystem,complianceState,userPrincipalName"
MANAGED_DEVICES = "/deviceManagement/managedDevices"
# Transient failures keep the rows of the last successful read (shown with their date).
_TRANSIENT = {ErrorKind.THROTTLED, ErrorKind.TIMEOUT, ErrorKind.UNAVAILABLE}


class TooLarge(Exception):
    """More objects than SEARCH_INDEX_MAX_PER_CUSTOMER: that customer is searched live."""


@dataclass
class _Read:
    customer_id: int
    users: list[dict] | None = None
    devices: list[dict] | None = None
    error: str = ""
    transient: bool = False
    requests: int = 0


@dataclass
class RefreshSummary:
    region_id: int
    indexed: int = 0
    failed: int = 0
    removed: int = 0
    users: int = 0
    devices: int = 0
    requests: int = 0
    seconds: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)  # tenant id: sentence


# pg_try_advisory_lock(namespace, region id): one refresh per region at a time, across
# workers; PostgreSQL releases it if the worker dies (its connection ends), so a crash never
# leaves a region unrefreshable. Elsewhere (SQLite, the one-process demo) a cache key.
_LOCK_NAMESPACE = 0x5EA2C4


@contextmanager
def _region_lock(region_id: int) -> Iterator[bool]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, region_id])
            taken = bool(cursor.fetchone()[0])
        try:
            yield taken
        finally:
            if taken:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, region_id]
                    )
        return
    key = f"search:index:refresh:{region_id}"
    taken = cache.add(key, 1, timeout=settings.SEARCH_INDEX_LOCK_SECONDS)
    try:
        yield taken
    finally:
        if taken:
            cache.delete(key)


def index_refresh_running(*, region_id: int) -> bool:
    """Whether a refresh of the region's index holds its lock right now."""
    with _region_lock(region_id) as taken:
        return not taken


def index_refresh(*, region_id: int) -> RefreshSummary | None:
    """Refresh the index of one region; None when a refresh of it is already running."""
    with _region_lock(region_id) as taken:
        if not taken:
            log.info("search index of region %s: a refresh is already running", region_id)
            return None
        return _refresh(region_id)


def _refresh(region_id: int) -> RefreshSummary:
    started = time.monotonic()
    summary = RefreshSummary(region_id=region_id)
    region = Region.objects.filter(pk=region_id, active=True).first()
    customers = list(Customer.objects.filter(region_id=region_id)) if region else []
    relationships: dict[int, list[GdapRelationship]] = defaultdict(list)
    for rel in GdapRelationship.objects.filter(
        customer__region_id=region_id, status__in=ACTIVE_STATUSES
    ):
        relationships[rel.customer_id].append(rel)
    wanted: dict[int, tuple[bool, bool]] = {}
    gone: list[int] = []
    for customer in customers:
        users, devices = indexable(customer=customer, relationships=relationships[customer.pk])
        if (users or devices) and customer.consent_state == ConsentState.CONSENTED:
            wanted[customer.pk] = (users, devices)
        else:
            gone.append(customer.pk)
    summary.removed = _remove(gone)
    if region is None:
        return summary
    by_id = {c.pk: c for c in customers}
    for read in _read_many(region, by_id, wanted):
        summary.requests += read.requests
        customer = by_id[read.customer_id]
        if read.error:
            summary.failed += 1
            summary.errors[str(customer.tenant_id)] = read.error
            _store_failure(customer, read)
        else:
            summary.indexed += 1
            summary.users += len(read.users or [])
            summary.devices += len(read.devices or [])
            _store(customer, read)
    _analyze()
    plans_outdate(region_id=region_id)
    summary.seconds = round(time.monotonic() - started, 2)
    log.info(
        "search index of region %s: %s customers indexed, %s failed, %s removed, "
        "%s users, %s devices, %s requests in %.1f s",
        region.slug,
        summary.indexed,
        summary.failed,
        summary.removed,
        summary.users,
        summary.devices,
        summary.requests,
        summary.seconds,
    )
    return summary


def _analyze() -> None:
    """Fresh planner statistics after replacing many rows: without them PostgreSQL misjudges
    how many rows a region or a customer has and scans instead of using the trigram index."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_indexeduser, search_indexeddevice")


def _remove(customer_ids: list[int]) -> int:
    if not customer_ids:
        return 0
    with transaction.atomic():
        IndexedUser.objects.filter(customer_id__in=customer_ids).delete()
        IndexedDevice.objects.filter(customer_id__in=customer_ids).delete()
        removed, _ = IndexedTenant.objects.filter(customer_id__in=customer_ids).delete()
    return removed


def _read_many(
    region: Region, customers: dict[int, Customer], wanted: dict[int, tuple[bool, bool]]
) -> Iterator[_Read]:
    with ThreadPoolExecutor(
        max_workers=max(1, settings.SEARCH_INDEX_CONCURRENCY), thread_name_prefix="index"
    ) as pool:
        futures = [
            pool.submit(_read_one, region, str(customers[pk].tenant_id), pk, users, devices)
            for pk, (users, devices) in wanted.items()
        ]
        for future in as_completed(futures):
            yield future.result()


def _read_one(
    region: Region, tenant_id: str, customer_id: int, users: bool, devices: bool
) -> _Read:
    read = _Read(customer_id=customer_id)
    limit = settings.SEARCH_INDEX_MAX_PER_CUSTOMER
    try:
        graph = graph_as_app(region=region, tenant_id=tenant_id)
        if users:
            read.users = _all(
                graph.iter_items(
                    "/users", params={"$select": USER_FIELDS, "$top": 999}, max_items=limit + 1
                ),
                limit,
                "users",
            )
            read.requests += 1 + len(read.users) // 999
        if devices:
            read.devices = _all(
                graph.iter_items(
                    MANAGED_DEVICES,
                    params={"$select": DEVICE_FIELDS, "$top": 1000},
                    max_items=limit + 1,
                ),
                limit,
                "Intune devices",
            )
            read.requests += 1 + len(read.devices) // 1000
    except TooLarge as exc:
        read.error = str(exc)
    except MicrosoftError as exc:
        read.error = _sentence(exc)
        read.transient = exc.kind in _TRANSIENT
    except Exception:  # a bug, not Microsoft: the customer is searched live meanwhile
        log.exception("search index read of tenant %s crashed", tenant_id)
        read.error = "An unexpected error stopped reading this customer; the worker log has it."
    finally:
        connections.close_all()
    return read


def _all(items: Iterator[dict], limit: int, what: str) -> list[dict]:
    out = list(items)
    if len(out) > limit:
        raise TooLarge(
            f"More than {limit:,} {what}: too many for the index, so this customer is searched "
            "live."
        )
    return out


def _sentence(exc: MicrosoftError) -> str:
    if isinstance(exc, IdentityError):
        return (
            "Microsoft would not issue the app a token for this customer "
            f"({exc.error}): the app's consent or the admin relationship is gone."
        )
    if exc.kind == ErrorKind.FORBIDDEN:
        return (
            "Microsoft Graph refused the app (HTTP 403): it lacks User.Read.All or "
            "DeviceManagementManagedDevices.Read.All there; consent the app again."
        )
    return f"Microsoft Graph could not answer ({exc}); the next sync tries again."


def _norm(*parts: str | None) -> str:
    return " | ".join(p for p in (x.strip() for x in parts if x) if p).lower()


def _store(customer: Customer, read: _Read) -> None:
    now = timezone.now()
    users = [
        IndexedUser(
            region_id=customer.region_id,
            customer=customer,
            object_id=str(u["id"]),
            display_name=(u.get("displayName") or "")[:256],
            user_principal_name=(u.get("userPrincipalName") or "")[:256],
            mail=(u.get("mail") or "")[:256],
            account_enabled=u.get("accountEnabled"),
            text=_norm(u.get("displayName"), u.get("userPrincipalName"), u.get("mail")),
        )
        for u in read.users or []
    ]
    devices = [
        IndexedDevice(
            region_id=customer.region_id,
            customer=customer,
            object_id=str(d["id"]),
            device_name=(d.get("deviceName") or "")[:256],
            serial_number=(d.get("serialNumber") or "")[:128],
            operating_system=(d.get("operatingSystem") or "")[:64],
            compliance_state=(d.get("complianceState") or "")[:32],
            user_principal_name=(d.get("userPrincipalName") or "")[:256],
            text=_norm(d.get("deviceName"), d.get("serialNumber")),
        )
        for d in read.devices or []
    ]
    with transaction.atomic():
        IndexedUser.objects.filter(customer=customer).delete()
        IndexedDevice.objects.filter(customer=customer).delete()
        IndexedUser.objects.bulk_create(users, batch_size=2000)
        IndexedDevice.objects.bulk_create(devices, batch_size=2000)
        IndexedTenant.objects.update_or_create(
            customer=customer,
            defaults={
                "status": IndexStatus.OK,
                "users": read.users is not None,
                "devices": read.devices is not None,
                "refreshed_at": now,
                "attempted_at": now,
                "error": "",
                "user_count": len(users),
                "device_count": len(devices),
            },
        )


def _store_failure(customer: Customer, read: _Read) -> None:
    now = timezone.now()
    with transaction.atomic():
        if read.transient:
            # The last good read stays searchable, with its date.
            updated = IndexedTenant.objects.filter(customer=customer).update(
                status=IndexStatus.FAILED, attempted_at=now, error=read.error
            )
            if updated:
                return
        IndexedUser.objects.filter(customer=customer).delete()
        IndexedDevice.objects.filter(customer=customer).delete()
        IndexedTenant.objects.update_or_create(
            customer=customer,
            defaults={
                "status": IndexStatus.FAILED,
                "users": False,
                "devices": False,
                "refreshed_at": None,
                "attempted_at": now,
                "error": read.error,
                "user_count": 0,
                "device_count": 0,
            },
        )
