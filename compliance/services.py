"""Writes about compliance: starting and running sweeps, saving snapshots, pruning history."""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from compliance.collect import Outcome, Target, devices_read_many
from compliance.models import (
    ComplianceSnapshot,
    ComplianceSweep,
    ComplianceTrendPoint,
    CustomerCompliance,
    NoncompliantDevice,
    NoncompliantPolicy,
)
from compliance.selectors import swept_customers
from compliance.signals import sweep_finished
from portal.runs import (
    LeaseLost,
    run_claim,
    run_finish,
    run_heartbeat,
    run_lock,
    run_start,
    run_update,
    runs_abandoned,
)
from regions.models import Region

log = logging.getLogger(__name__)

_SAVE_EVERY = 1.0  # seconds between progress writes


def sweep_key(region: Region | None) -> dict[str, object]:
    """What identifies a sweep over `region` (None: every active region) for the lock."""
    return {"scope": ComplianceSweep.scope_for(region.pk if region else None), "region": region}


def sweep_start(
    *, region: Region | None = None, requested_by: str = ""
) -> tuple[ComplianceSweep, bool]:
    """A queued sweep of `region` (None: every region), or the unfinished one already there;
    (sweep, created)."""
    return run_start(ComplianceSweep, key=sweep_key(region), requested_by=requested_by)


def sweeps_abandoned() -> list[int]:
    """Unfinished sweeps nobody is working on: the worker died, or the message was lost."""
    return runs_abandoned(ComplianceSweep)


def sweep_claim(*, sweep_id: int) -> ComplianceSweep | None:
    """Take a queued sweep, or a running one whose lease ran out; None if it is not ours."""
    sweep = run_claim(ComplianceSweep, pk=sweep_id)
    if sweep is None:
        return None
    # What the previous worker stored counts; its unsaved progress is gone with it.
    counts = ComplianceSnapshot.objects.filter(sweep=sweep).aggregate(
        done=Count("id"), failed=Count("id", filter=Q(ok=False)), requests=Sum("requests")
    )
    try:
        run_update(
            sweep, done=counts["done"], failed=counts["failed"], requests=counts["requests"] or 0
        )
    except LeaseLost:  # taken over again already (our lease expired at once): not ours
        return None
    return sweep


def compliance_sweep(*, sweep_id: int) -> ComplianceSweep | None:
    """Run (or take over and finish) a sweep: one snapshot per customer, whatever dies."""
    sweep = sweep_claim(sweep_id=sweep_id)
    if sweep is None:
        return None
    try:
        _sweep_run(sweep)
        status, error = ComplianceSweep.Status.DONE, ""
    except LeaseLost:
        log.warning("compliance sweep %s: another worker took it over; stopping", sweep.pk)
        return None
    except Exception:
        log.exception("compliance sweep %s crashed", sweep.pk)
        status = ComplianceSweep.Status.FAILED
        error = "The sweep stopped on an unexpected error; the worker log has the details."
    try:
        run_finish(sweep, status=status, error=error)
    except LeaseLost:
        log.warning("compliance sweep %s: another worker took it over at the end", sweep.pk)
        return None
    sweep.refresh_from_db()
    # Committed: listeners (alerts) read the new snapshots.
    sweep_finished.send(ComplianceSweep, sweep_id=sweep.pk, region_id=sweep.region_id)
    return sweep


def _sweep_run(sweep: ComplianceSweep) -> None:
    done = set(ComplianceSnapshot.objects.filter(sweep=sweep).values_list("customer_id", flat=True))
    targets = sweep_targets(region_id=sweep.region_id)
    todo = [t for t in targets if t.customer_id not in done]
    run_update(sweep, total=sweep.done + len(todo))
    stale_before = timezone.now() - timedelta(days=settings.COMPLIANCE_DEVICE_STALE_DAYS)
    beat_every = max(1.0, settings.COMPLIANCE_SWEEP_LEASE_SECONDS / 4)
    pending: list[Outcome] = []
    last_save = last_beat = time.monotonic()
    for outcome in _outcomes_ticking(todo, stale_before=stale_before, tick=beat_every):
        if outcome is not None:
            pending.append(outcome)
        if pending and time.monotonic() - last_save >= _SAVE_EVERY:
            snapshots_record(sweep=sweep, outcomes=pending)
            pending, last_save = [], time.monotonic()
            last_beat = last_save
        elif time.monotonic() - last_beat >= beat_every:
            run_heartbeat(sweep)  # slow customers: no outcome for a while, but we are alive
            last_beat = time.monotonic()
    snapshots_record(sweep=sweep, outcomes=pending)
    trend_record(sweep=sweep)


def _outcomes_ticking(
    targets: list[Target], *, stale_before: datetime, tick: float
) -> Iterator[Outcome | None]:
    """The outcomes of devices_read_many, with a None every `tick` seconds without one.

    The reads run on a feeder thread (HTTP only, no ORM), so this thread, which owns the
    database connection, keeps the heartbeat going while every customer in flight is slow.
    """
    items: queue.Queue[Outcome | BaseException | None] = queue.Queue()

    def feed() -> None:
        try:
            for outcome in devices_read_many(
                targets=targets,
                stale_before=stale_before,
                concurrency=settings.COMPLIANCE_CONCURRENCY,
            ):
                items.put(outcome)
        except BaseException as exc:  # handed to the sweep, which fails with it
            items.put(exc)
        finally:
            items.put(None)

    threading.Thread(target=feed, name="sweep-feed", daemon=True).start()
    while True:
        try:
            item = items.get(timeout=tick)
        except queue.Empty:
            yield None
            continue
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def sweep_targets(*, region_id: int | None = None) -> list[Target]:
    """Every swept customer of the region (None: of every active region), regions loaded
    once."""
    customers = swept_customers().select_related("region").order_by("region_id", "pk")
    if region_id is not None:
        customers = customers.filter(region_id=region_id)
    return [
        Target(
            customer_id=c.pk,
            tenant_id=str(c.tenant_id),
            region=c.region,
            relationship_status=c.relationship_status,
        )
        for c in customers
    ]


def snapshots_record(*, sweep: ComplianceSweep, outcomes: list[Outcome]) -> None:
    """Store a batch of outcomes, move the customers' pointers, count progress."""
    now = timezone.now()
    snapshots = [
        ComplianceSnapshot(
            sweep=sweep,
            customer_id=o.customer_id,
            taken_at=o.taken_at,
            ok=o.ok,
            error_kind=o.error_kind,
            error=o.error,
            duration_ms=o.duration_ms,
            requests=o.requests,
            **(o.tally.snapshot_fields() if o.tally else {}),
        )
        for o in outcomes
    ]
    with transaction.atomic():
        # Under the sweep's row lock and only while this worker holds the lease: a worker
        # presumed dead that wakes up stores nothing once another one has taken over. The
        # fenced progress write rolls the batch back where the lock is a no-op (SQLite).
        run_lock(sweep)
        ComplianceSnapshot.objects.bulk_create(snapshots, batch_size=500)
        pointers_move(snapshots=snapshots)
        noncompliant_replace(outcomes=[o for o in outcomes if o.tally is not None])
        run_update(
            sweep,
            done=sweep.done + len(outcomes),
            failed=sweep.failed + sum(not o.ok for o in outcomes),
            requests=sweep.requests + sum(o.requests for o in outcomes),
            heartbeat_at=now,
        )


def noncompliant_replace(*, outcomes: list[Outcome]) -> None:
    """Each successfully read customer's noncompliant devices become these; a device already
    listed keeps its `since`, one no longer noncompliant leaves the list."""
    for outcome in outcomes:
        assert outcome.tally is not None
        # Intune's ids are GUIDs (they link to the device's page); anything else is skipped.
        devices = {_guid(d.get("id")): d for d in outcome.tally.noncompliant if _guid(d.get("id"))}
        customer_id = outcome.customer_id
        NoncompliantDevice.objects.filter(customer_id=customer_id).exclude(
            device_id__in=list(devices)
        ).delete()
        rows = [
            NoncompliantDevice(
                customer_id=customer_id,
                device_id=device_id[:64],
                device_name=str(d.get("deviceName") or "")[:256],
                user_principal_name=str(d.get("userPrincipalName") or "")[:256],
                operating_system=str(d.get("operatingSystem") or "")[:64],
                last_sync_at=_graph_time(d.get("lastSyncDateTime")),
                since=outcome.taken_at,
                seen_at=outcome.taken_at,
                policies_read=str(d.get("id")) in outcome.policies,
            )
            for device_id, d in devices.items()
        ]
        NoncompliantDevice.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["customer", "device_id"],
            update_fields=[
                "device_name",
                "user_principal_name",
                "operating_system",
                "last_sync_at",
                "seen_at",
                "policies_read",
            ],
            batch_size=500,
        )
        _failing_policies_replace(customer_id=customer_id, devices=devices, outcome=outcome)


def _failing_policies_replace(
    *, customer_id: int, devices: dict[str, dict], outcome: Outcome
) -> None:
    """The customer's devices' failing policies become those this outcome read (none for a
    device whose states could not be read: it says "unknown")."""
    NoncompliantPolicy.objects.filter(device__customer_id=customer_id).delete()
    if not outcome.policies:
        return
    pks = dict(
        NoncompliantDevice.objects.filter(customer_id=customer_id).values_list("device_id", "pk")
    )
    rows = [
        NoncompliantPolicy(device_id=pks[device_id], name=name)
        for device_id, d in devices.items()
        if device_id in pks
        for name in outcome.policies.get(str(d.get("id")), [])
    ]
    NoncompliantPolicy.objects.bulk_create(rows, batch_size=500)


def _guid(value: object) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return ""


def _graph_time(value: object) -> datetime | None:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return parsed if parsed is not None and parsed.year > 1 else None  # 0001-01-01: never


# CustomerCompliance columns copied from a successful snapshot.
_GOOD_FIGURES = (
    "device_total",
    "compliant",
    "noncompliant",
    "in_grace_period",
    "stale",
    "compliance_rate",
)


def pointers_move(*, snapshots: list[ComplianceSnapshot]) -> None:
    """Make these saved snapshots their customers' latest (and, if good, latest good) ones."""
    good = [
        CustomerCompliance(
            customer_id=s.customer_id,
            last_snapshot=s,
            last_good_snapshot=s,
            last_taken_at=s.taken_at,
            last_ok=True,
            last_error="",
            good_taken_at=s.taken_at,
            **{name: getattr(s, name) for name in _GOOD_FIGURES},
        )
        for s in snapshots
        if s.ok
    ]
    CustomerCompliance.objects.bulk_create(
        good,
        update_conflicts=True,
        unique_fields=["customer"],
        update_fields=[
            "last_snapshot",
            "last_good_snapshot",
            "last_taken_at",
            "last_ok",
            "last_error",
            "good_taken_at",
            *_GOOD_FIGURES,
            "updated_at",
        ],
        batch_size=500,
    )
    failed = [
        CustomerCompliance(
            customer_id=s.customer_id,
            last_snapshot=s,
            last_taken_at=s.taken_at,
            last_ok=False,
            last_error=s.error,
        )
        for s in snapshots
        if not s.ok
    ]
    # A failure replaces the latest result only; the last good figures stay on display.
    CustomerCompliance.objects.bulk_create(
        failed,
        update_conflicts=True,
        unique_fields=["customer"],
        update_fields=["last_snapshot", "last_taken_at", "last_ok", "last_error", "updated_at"],
        batch_size=500,
    )


def trend_record(*, sweep: ComplianceSweep) -> None:
    """Sum the sweep's snapshots per region into the rows the trend chart reads."""
    rows = (
        ComplianceSnapshot.objects.filter(sweep=sweep)
        .values("customer__region_id")
        .annotate(
            customers=Count("id"),
            customers_failed=Count("id", filter=Q(ok=False)),
            devices=Sum("device_total"),
            compliant=Sum("compliant"),
            noncompliant=Sum("noncompliant"),
            in_grace_period=Sum("in_grace_period"),
        )
    )
    taken_at = sweep.started_at or timezone.now()
    ComplianceTrendPoint.objects.bulk_create(
        [
            ComplianceTrendPoint(
                sweep=sweep,
                region_id=row["customer__region_id"],
                taken_at=taken_at,
                customers=row["customers"],
                customers_failed=row["customers_failed"],
                devices=row["devices"] or 0,
                compliant=row["compliant"] or 0,
                noncompliant=row["noncompliant"] or 0,
                in_grace_period=row["in_grace_period"] or 0,
            )
            for row in rows
        ],
        update_conflicts=True,
        unique_fields=["sweep", "region"],
        update_fields=[
            "customers",
            "customers_failed",
            "devices",
            "compliant",
            "noncompliant",
            "in_grace_period",
        ],
    )


def snapshots_prune(*, days: int | None = None, batch: int = 5000) -> int:
    """Delete sweeps (with their snapshots and trend rows) older than the retention period."""
    days = settings.COMPLIANCE_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    while True:
        # Small batches keep each transaction (and its locks) short on big histories.
        ids = list(
            ComplianceSnapshot.objects.filter(taken_at__lt=cutoff).values_list("pk", flat=True)[
                :batch
            ]
        )
        if not ids:
            break
        with transaction.atomic():
            # on_delete=SET_NULL clears CustomerCompliance's pointers to these snapshots.
            _, per_model = ComplianceSnapshot.objects.filter(pk__in=ids).delete()
            deleted += per_model.get(ComplianceSnapshot._meta.label, 0)
    ComplianceSweep.objects.filter(created_at__lt=cutoff).exclude(
        status__in=ComplianceSweep.UNFINISHED
    ).delete()
    return deleted
