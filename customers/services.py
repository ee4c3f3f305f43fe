"""Writes about customers: syncing each region's customer tenants from Microsoft Graph.

Source: the partner tenant's GDAP relationships (status, end date, auto-extend and roles per
relationship, and each active one's access assignments: which partner security groups hold
which roles) plus /contracts (default domain). Partner Center's customer list has neither the
GDAP status nor its end date, and reading Graph keeps one client, one token type and one
throttling model.

# Reference: https://learn.microsoft.com/en-us/graph/api/tenantrelationship-list-delegatedadminrelationships
# Reference: https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-list-accessassignments
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from customers.consent import ConsentProbe, consent_probe
from customers.models import (
    ConsentState,
    Customer,
    GdapRelationship,
    RelationshipStatus,
    RelationshipType,
    SyncRun,
)
from customers.signals import relationship_accepted, sync_finished
from mscloud.errors import MicrosoftError
from mscloud.graph import BATCH_LIMIT, BatchRequest, GraphClient
from portal.runs import (
    LeaseLost,
    run_claim,
    run_finish,
    run_heartbeat,
    run_lock,
    run_start,
    runs_abandoned,
)
from regions.clients import graph_as_app, partner_center_as_app
from regions.models import Region

log = logging.getLogger(__name__)

# When one customer has several GDAP relationships, the most useful one is shown.
_STATUS_RANK = {"active": 5, "activating": 4, "approvalPending": 3, "expiring": 2, "expired": 1}
_STATUS_MAP = {
    "active": RelationshipStatus.ACTIVE,
    "activating": RelationshipStatus.PENDING,
    "approvalPending": RelationshipStatus.PENDING,
    "created": RelationshipStatus.PENDING,
    "expired": RelationshipStatus.EXPIRED,
    "expiring": RelationshipStatus.ACTIVE,
    "terminated": RelationshipStatus.TERMINATED,
    "terminating": RelationshipStatus.TERMINATED,
}


# Relationships Microsoft created in the transition from DAP carry this name prefix.
# Reference: https://learn.microsoft.com/en-us/partner-center/customers/gdap-microsoft-led-transition
MLT_PREFIX = "MLT_"
# Only these relationships give anyone access: their assignments are worth reading.
_ASSIGNABLE = {"active", "expiring"}


@dataclass
class _Seen:
    name: str = ""
    domain: str = ""
    status: str = RelationshipStatus.NONE
    end: datetime | None = None
    rank: int = 0
    relationships: list[dict[str, Any]] = field(default_factory=list)

    dap: bool = False  # Partner Center says the partner holds DAP (asked only without GDAP)
    consent: ConsentProbe | None = None  # checked only where the relationship is active

    @property
    def type(self) -> str:
        if not self.relationships:
            return RelationshipType.DAP if self.dap else RelationshipType.NONE
        if all(r["display_name"].startswith(MLT_PREFIX) for r in self.relationships):
            return RelationshipType.MLT
        return RelationshipType.GDAP


def sync_run_start(*, region: Region, requested_by: str = "") -> tuple[SyncRun, bool]:
    """A queued sync for the region, or the unfinished one already there; (run, created)."""
    return run_start(SyncRun, key={"region": region}, requested_by=requested_by)


def sync_run_claim(*, run_id: int) -> SyncRun | None:
    """Take a queued sync, or a running one whose lease ran out; None if it is not ours."""
    return run_claim(SyncRun, pk=run_id)


def syncs_abandoned() -> list[int]:
    """Unfinished syncs nobody works on: the worker died, or the message was lost."""
    return runs_abandoned(SyncRun)


def _progress(run: SyncRun, step: str, progress: int) -> None:
    run_heartbeat(run, step=step, progress=progress)


# While waiting on fanned-out calls, wake this often to beat; show progress at most this often.
_BEAT_WAIT = 1.0
_PROGRESS_EVERY = 2.0


def _beat(run: SyncRun) -> None:
    """Between Graph pages: beat at least every quarter of the lease, without a write per item."""
    run_heartbeat(run, every=SyncRun.lease_seconds() / 4)


def customers_sync(*, run_id: int) -> SyncRun | None:
    """Run (or take over and finish) a queued sync: read the partner tenant's customers and
    upsert them. None when the run is not ours, or was taken over while we ran it."""
    run = sync_run_claim(run_id=run_id)
    if run is None:  # finished already (a redelivered task) or alive in another worker
        return None
    region = run.region
    try:
        seen = _read_customers(region, run)
        _progress(run, "Saving customers", 90)
        with transaction.atomic():
            # Under the run's row lock and only while this worker holds the lease; the fenced
            # finish rolls the upsert back should the lock be a no-op (SQLite) and we lost it.
            run_lock(run)
            accepted = _accepted(region, seen)
            created, updated = _upsert(region, seen)
            for customer in Customer.objects.filter(region=region, tenant_id__in=accepted):
                # After the commit: a listener that starts work must see the synced rows.
                transaction.on_commit(
                    lambda c=customer: relationship_accepted.send(Customer, customer=c)
                )
            run_finish(
                run,
                status=SyncRun.Status.DONE,
                step="Done",
                progress=100,
                created=created,
                updated=updated,
                total=len(seen),
            )
    except LeaseLost:
        log.warning("customer sync %s: another worker took it over; stopping", run.pk)
        return None
    except MicrosoftError as exc:
        log.warning("customer sync of region %s failed: %s", region.slug, exc)
        return _failed(run, str(exc))
    except Exception:
        log.exception("customer sync of region %s crashed", region.slug)
        return _failed(run, "Unexpected error; see the worker log.")
    # Committed: listeners (alerts) read the synced rows.
    sync_finished.send(SyncRun, region_id=region.pk)
    return run


def _failed(run: SyncRun, error: str) -> SyncRun | None:
    try:
        run_finish(run, status=SyncRun.Status.FAILED, error=error)
    except LeaseLost:
        log.warning("customer sync %s: another worker took it over at the end", run.pk)
        return None
    return run


def _read_customers(region: Region, run: SyncRun) -> dict[str, _Seen]:
    graph = graph_as_app(region=region)
    seen: dict[str, _Seen] = {}
    with _pool(settings.CUSTOMER_SYNC_CONCURRENCY) as pool:
        _progress(run, "Reading GDAP relationships", 10)
        # The three listings are independent: the customer list and the contracts are read
        # while this thread pages through the relationships. Pages as large as Microsoft
        # allows: $top up to 300 for both GDAP lists, 999 for a directory collection.
        # Reference: https://learn.microsoft.com/graph/api/tenantrelationship-list-delegatedadminrelationships
        # Reference: https://learn.microsoft.com/graph/api/tenantrelationship-list-delegatedadmincustomers
        # Reference: https://learn.microsoft.com/graph/api/contract-list
        gdap_customers = pool.submit(
            _listing, graph, "/tenantRelationships/delegatedAdminCustomers", 300
        )
        contracts = pool.submit(_listing, graph, "/contracts", 999)
        relationships = []
        for rel in graph.iter_items(
            "/tenantRelationships/delegatedAdminRelationships", params={"$top": 300}
        ):
            _beat(run)
            relationships.append(rel)
        for item in _wait(run, [gdap_customers])[0]:
            tid = str(item.get("tenantId") or item.get("id") or "").lower()
            if tid:
                seen.setdefault(tid, _Seen()).name = item.get("displayName") or ""
        for rel in relationships:
            customer = rel.get("customer") or {}
            tid = str(customer.get("tenantId") or "").lower()
            if not tid:
                continue
            entry = seen.setdefault(tid, _Seen(name=customer.get("displayName") or ""))
            rank = _STATUS_RANK.get(rel.get("status", ""), 0)
            end = parse_datetime(rel["endDateTime"]) if rel.get("endDateTime") else None
            entry.relationships.append(_relationship(rel, end))
            if rank > entry.rank or (
                rank == entry.rank and end and (not entry.end or end > entry.end)
            ):
                entry.rank, entry.end = rank, end
                entry.status = _STATUS_MAP.get(rel.get("status", ""), RelationshipStatus.NONE)
        for contract in _wait(run, [contracts])[0]:
            tid = str(contract.get("customerId") or "").lower()
            if not tid:
                continue
            entry = seen.setdefault(tid, _Seen())
            entry.domain = contract.get("defaultDomainName") or entry.domain
            entry.name = entry.name or contract.get("displayName") or ""
        _read_assignments(graph, [r for e in seen.values() for r in e.relationships], run, pool)
        _progress(run, "Reading DAP customers", 60)
        _read_dap(region, seen, run)
        _read_consent(region, seen, run, pool)
    return seen


def _listing(graph: GraphClient, path: str, top: int) -> list[dict[str, Any]]:
    return list(graph.iter_items(path, params={"$top": top}))


def _pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="customer-sync")


def _wait(
    run: SyncRun, futures: list[Future[Any]], *, step: str = "", start: int = 0, end: int = 0
) -> list[Any]:
    """The futures' results in order, beating while they run (the lease stays ours) and, with a
    step, showing "step n/N" as they finish. The first failure is raised and the futures not
    yet started are cancelled: a failed sync stops sending requests."""
    total = len(futures)
    done = 0
    pending = set(futures)
    try:
        while pending:
            finished, pending = wait(pending, timeout=_BEAT_WAIT, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()  # raises the first failure here, in the sync's thread
            done += len(finished)
            if step and total:
                run_heartbeat(
                    run,
                    every=_PROGRESS_EVERY,
                    step=f"{step} {done:,}/{total:,}",
                    progress=start + (end - start) * done // total,
                )
            else:
                _beat(run)
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    return [f.result() for f in futures]


def _read_consent(
    region: Region, seen: dict[str, _Seen], run: SyncRun, pool: ThreadPoolExecutor
) -> None:
    """Per active customer whose check is due (consent_checks_due): does the app get a
    client-credentials token there, with which roles (customers/consent.py `consent_probe`)?
    Drift (consent removed in the tenant) shows here, within CONSENT_RECHECK_SECONDS. At most
    one token request per customer per token lifetime (tokens are cached per tenant) and one
    Graph $batch; CUSTOMER_SYNC_CONCURRENCY customers at a time. A customer whose check fails
    or is not due keeps what was known (the probe answers None); the others still count."""
    active = [tid for tid, entry in seen.items() if entry.status == RelationshipStatus.ACTIVE]
    due = consent_checks_due(region=region, tenant_ids=active, now=timezone.now())
    _progress(run, f"Checking app consent 0/{len(due):,}", 65)
    futures = [pool.submit(consent_probe, region=region, tenant_id=tid) for tid in due]
    probes = _wait(run, futures, step="Checking app consent", start=65, end=88)
    for tid, probe in zip(due, probes, strict=True):
        seen[tid].consent = probe


def consent_checks_due(*, region: Region, tenant_ids: list[str], now: datetime) -> list[str]:
    """Of these active customers, those whose consent the sync checks now: every one without
    working consent, and those whose working consent was checked longer ago than
    CONSENT_RECHECK_SECONDS (each tenant at a fixed 0.75-1.25x of it). The others keep what
    was known (the sync's probe is None for them)."""
    recheck = settings.CONSENT_RECHECK_SECONDS
    if recheck <= 0:
        return list(tenant_ids)
    checked = {
        str(tid): at
        for tid, at in Customer.objects.filter(
            region=region, consent_state=ConsentState.CONSENTED, consent_checked_at__isnull=False
        ).values_list("tenant_id", "consent_checked_at")
    }
    return [
        tid
        for tid in tenant_ids
        if (at := checked.get(tid)) is None
        or (now - at).total_seconds() >= recheck * _recheck_spread(tid)
    ]


def _recheck_spread(tenant_id: str) -> float:
    """A fixed factor in [0.75, 1.25) per tenant."""
    digest = hashlib.sha256(tenant_id.encode()).digest()
    return 0.75 + 0.5 * int.from_bytes(digest[:4], "big") / 2**32


def _read_dap(region: Region, seen: dict[str, _Seen], run: SyncRun) -> None:
    """Customers without any GDAP relationship: does the partner still hold DAP there?

    Partner Center tells only per customer (`allowDelegatedAccess` on a read by id), so only
    these are asked; a GDAP customer that also has DAP is shown as GDAP. A Partner Center
    failure leaves them "none" and is logged: the GDAP data of the sync is still good."""
    without_gdap = [tid for tid, entry in seen.items() if not entry.relationships]
    if not without_gdap:
        return
    partner_center = partner_center_as_app(region=region)
    for tid in without_gdap:
        _beat(run)
        try:
            answer = partner_center.get_customer(tid)
        except MicrosoftError as exc:
            log.warning("customer sync of region %s: DAP state unknown: %s", region.slug, exc)
            return
        entry = seen[tid]
        entry.dap = answer.get("allowDelegatedAccess") is True
        if entry.dap:
            # DAP has neither status nor end: it holds while the partner keeps it.
            entry.status = RelationshipStatus.ACTIVE


def _relationship(rel: dict[str, Any], end: datetime | None) -> dict[str, Any]:
    roles = ((rel.get("accessDetails") or {}).get("unifiedRoles")) or []
    return {
        "relationship_id": str(rel.get("id") or "")[:80],
        "display_name": str(rel.get("displayName") or "")[:100],
        "status": str(rel.get("status") or "")[:32],
        "roles": [str(r.get("roleDefinitionId")) for r in roles if r.get("roleDefinitionId")],
        "end_at": end,
        "auto_extend": str(rel.get("autoExtendDuration") or "")[:16],
        "access_assignments": [],
    }


def _read_assignments(
    graph: GraphClient,
    relationships: list[dict[str, Any]],
    run: SyncRun,
    pool: ThreadPoolExecutor,
) -> None:
    """Each usable relationship's access assignments: 20 relationships per $batch round trip,
    CUSTOMER_SYNC_CONCURRENCY round trips at a time."""
    wanted = [r for r in relationships if r["status"] in _ASSIGNABLE and r["relationship_id"]]
    by_id = {str(i): r for i, r in enumerate(wanted)}
    requests = [
        BatchRequest(
            id=key,
            url=f"/tenantRelationships/delegatedAdminRelationships/{r['relationship_id']}"
            "/accessAssignments",
        )
        for key, r in by_id.items()
    ]
    chunks = [requests[i : i + BATCH_LIMIT] for i in range(0, len(requests), BATCH_LIMIT)]
    _progress(run, f"Reading GDAP access assignments 0/{len(wanted):,}", 35)
    futures = [pool.submit(graph.batch, chunk) for chunk in chunks]
    step = f"Reading GDAP access assignments of {len(wanted):,} relationships: batch"
    for answers in _wait(run, futures, step=step, start=35, end=60):
        for key, answer in answers.items():
            answer.raise_for_status()
            by_id[key]["access_assignments"] = [
                {
                    "group_id": str(
                        (a.get("accessContainer") or {}).get("accessContainerId") or ""
                    ),
                    "roles": [
                        str(role.get("roleDefinitionId"))
                        for role in ((a.get("accessDetails") or {}).get("unifiedRoles") or [])
                        if role.get("roleDefinitionId")
                    ],
                    "status": str(a.get("status") or ""),
                }
                for a in (answer.body.get("value") or [])
            ]


def _upsert(region: Region, seen: dict[str, _Seen]) -> tuple[int, int]:
    now = timezone.now()
    other_regions = set(
        Customer.objects.filter(tenant_id__in=list(seen))
        .exclude(region=region)
        .values_list("tenant_id", flat=True)
    )
    if other_regions:
        # CSP engagement is single-region: a tenant claimed by two regions is misconfiguration.
        log.warning(
            "%d customers of region %s belong to another region", len(other_regions), region.slug
        )
    known = {
        str(c["tenant_id"]): c
        for c in Customer.objects.filter(region=region).values(
            "tenant_id", "consent_state", "consent_checked_at", "consent_app_roles",
            "consent_lost_at", "default_domain",
        )
    }  # fmt: skip
    existing = set(known)
    rows = [
        Customer(
            region=region,
            tenant_id=tid,
            name=entry.name or entry.domain or tid,
            default_domain=_default_domain(known.get(tid), entry.domain),
            relationship_status=entry.status,
            relationship_end_at=entry.end,
            relationship_type=entry.type,
            synced_at=now,
            **_consent_fields(known.get(tid), entry.consent, now),
        )
        for tid, entry in seen.items()
        if tid not in {str(t) for t in other_regions}
    ]
    with transaction.atomic():
        Customer.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["tenant_id"],
            update_fields=[
                "name",
                "default_domain",
                "relationship_status",
                "relationship_end_at",
                "relationship_type",
                "synced_at",
                "consent_state",
                "consent_checked_at",
                "consent_app_roles",
                "consent_lost_at",
            ],
        )
        # Customers no longer listed keep their row (history, audit) but lose the relationship.
        Customer.objects.filter(region=region).exclude(tenant_id__in=list(seen)).update(
            relationship_status=RelationshipStatus.NONE,
            relationship_type=RelationshipType.NONE,
            synced_at=now,
        )
        _relationships_replace(
            region, {str(r.tenant_id): seen[str(r.tenant_id)] for r in rows}, now
        )
    created = sum(1 for r in rows if str(r.tenant_id) not in existing)
    return created, len(rows) - created


def _default_domain(before: dict[str, Any] | None, contract_copy: str) -> str:
    """The domain the portal shows, kept once known: the contract's defaultDomainName is a copy
    made when the partnership began and never updated, while provisioning stores the tenant's
    verified default domain (organization.verifiedDomains, isDefault). Overwriting one with the
    other on every sync made the domain flip; the contract's copy only fills a blank.

    # Reference: https://learn.microsoft.com/graph/api/resources/contract
    # Reference: https://learn.microsoft.com/graph/api/resources/verifieddomain
    """
    kept = (before or {}).get("default_domain") or ""
    return kept or contract_copy


def _consent_fields(
    before: dict[str, Any] | None, probe: ConsentProbe | None, now: datetime
) -> dict[str, Any]:
    """The consent fields after this sync: the probe's answer, or what was known (not
    checked: no active relationship, or Entra could not say). A consented customer found
    not working any more gets `consent_lost_at` (drift), kept until it works again."""
    kept = {
        "consent_state": (before or {}).get("consent_state", ConsentState.UNKNOWN),
        "consent_checked_at": (before or {}).get("consent_checked_at"),
        "consent_app_roles": (before or {}).get("consent_app_roles", []),
        "consent_lost_at": (before or {}).get("consent_lost_at"),
    }
    if probe is None:
        return kept
    lost_at = kept["consent_lost_at"]
    if probe.state == ConsentState.CONSENTED:
        lost_at = None
    elif kept["consent_state"] == ConsentState.CONSENTED:
        lost_at = now
    return {
        "consent_state": probe.state,
        "consent_checked_at": now,
        "consent_app_roles": list(probe.app_roles),
        "consent_lost_at": lost_at,
    }


# A relationship the customer approved since the last sync (it went past approval).
_APPROVED = {"active", "activating"}


def _accepted(region: Region, seen: dict[str, _Seen]) -> list[str]:
    """Customers with a relationship that awaited approval at the last sync and no longer
    does: the customer accepted the invitation (its tenant now needs the delayed first calls).
    """
    pending = set(
        GdapRelationship.objects.filter(
            customer__region=region, status="approvalPending"
        ).values_list("customer__tenant_id", "relationship_id")
    )
    if not pending:
        return []
    return sorted(
        {
            tid
            for tid, entry in seen.items()
            for rel in entry.relationships
            if rel["status"] in _APPROVED and (uuid.UUID(tid), rel["relationship_id"]) in pending
        }
    )


def _relationships_replace(region: Region, seen: dict[str, _Seen], now: datetime) -> None:
    """The region's stored GDAP relationships become exactly what this sync read."""
    ids = {
        str(tenant_id): pk
        for tenant_id, pk in Customer.objects.filter(
            region=region, tenant_id__in=list(seen)
        ).values_list("tenant_id", "pk")
    }
    GdapRelationship.objects.filter(customer__region=region).delete()
    GdapRelationship.objects.bulk_create(
        [
            GdapRelationship(customer_id=ids[tid], synced_at=now, **rel)
            for tid, entry in seen.items()
            if tid in ids
            # A relationship listed twice (paging moved under us) is stored once.
            for rel in {r["relationship_id"]: r for r in entry.relationships}.values()
            if rel["relationship_id"]
        ],
        batch_size=1000,
    )
