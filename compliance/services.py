"""Writes about compliance: starting and running sweeps, saving snapshots, pruning history."""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, DateTimeField, F, Q, Sum, Value, When
from django.utils import timezone

from compliance.collect import KnownPolicies, Outcome, Target, devices_read_many
from compliance.models import (
    ComplianceSnapshot,
    ComplianceSweep,
    ComplianceTrendPoint,
    CustomerCompliance,
    NoncompliantDevice,
    NoncompliantPolicy,
    SweepChunk,
)
from compliance.selectors import noncompliant_choices_outdate, swept_customers
from compliance.signals import sweep_finished
from compliance.tally import graph_time
from portal.runs import (
    LeaseLost,
    row_compare_and_set,
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
    # What the chunks stored counts. Under the sweep's row lock: a chunk storing a batch right
    # now adds to the counters after this count, never into it.
    try:
        with transaction.atomic():
            run_lock(sweep)
            counts = ComplianceSnapshot.objects.filter(sweep=sweep).aggregate(
                done=Count("id"), failed=Count("id", filter=Q(ok=False)), requests=Sum("requests")
            )
            run_update(
                sweep,
                done=counts["done"],
                failed=counts["failed"],
                requests=counts["requests"] or 0,
            )
    except LeaseLost:  # taken over again already (our lease expired at once): not ours
        return None
    return sweep


def compliance_sweep(
    *, sweep_id: int, enqueue: Callable[[int], None] | None = None
) -> ComplianceSweep | None:
    """Run (or take over) a sweep: split its customers into chunks, queue a task per chunk
    for the other workers, and work through the chunks nobody holds. One snapshot per
    customer whatever dies; the last chunk to finish finishes the sweep. None when the
    sweep was not ours to run (finished, or alive in another worker).

    `enqueue(chunk_id)` queues a chunk for the other workers (compliance.tasks passes it);
    without it (a test, a benchmark) this call works through every chunk itself."""
    sweep = sweep_claim(sweep_id=sweep_id)
    if sweep is None:
        return None
    try:
        chunk_ids = chunks_plan(sweep)
    except LeaseLost:
        log.warning("compliance sweep %s: another worker took it over; stopping", sweep.pk)
        return None
    except Exception:
        log.exception("compliance sweep %s could not be planned", sweep.pk)
        _sweep_fail(
            sweep, "The sweep stopped on an unexpected error; the worker log has the details."
        )
        return _sweep_after(sweep.pk)
    if enqueue is not None:
        for chunk_id in chunk_ids[1:]:  # the first one is ours at once: no message for it
            enqueue(chunk_id)
    for chunk_id in chunk_ids:
        sweep_chunk_work(chunk_id=chunk_id)
    sweep_finish_if_complete(sweep_id=sweep.pk)
    return _sweep_after(sweep.pk)


def _sweep_after(sweep_id: int) -> ComplianceSweep:
    return ComplianceSweep.objects.get(pk=sweep_id)


def chunks_plan(sweep: ComplianceSweep) -> list[int]:
    """The ids of the sweep's unfinished chunks, creating them on its first claim: the
    customers without a snapshot yet, COMPLIANCE_SWEEP_CHUNK to a chunk. Fenced on the
    sweep's lease."""
    with transaction.atomic():
        run_lock(sweep)
        if not SweepChunk.objects.filter(sweep=sweep).exists():
            done = set(
                ComplianceSnapshot.objects.filter(sweep=sweep).values_list("customer_id", flat=True)
            )
            todo = [t.customer_id for t in sweep_targets(region_id=sweep.region_id)]
            todo = [pk for pk in todo if pk not in done]
            size = max(1, int(settings.COMPLIANCE_SWEEP_CHUNK))
            SweepChunk.objects.bulk_create(
                SweepChunk(sweep=sweep, number=n, customer_ids=todo[i : i + size])
                for n, i in enumerate(range(0, len(todo), size))
            )
            run_update(sweep, total=sweep.done + len(todo), heartbeat_at=timezone.now())
    return list(
        SweepChunk.objects.filter(sweep=sweep, status__in=SweepChunk.UNFINISHED)
        .order_by("number")
        .values_list("pk", flat=True)
    )


def chunks_abandoned() -> list[int]:
    """Unfinished chunks nobody works on: their worker died, or their message was lost."""
    return runs_abandoned(SweepChunk)


def sweep_chunk_work(*, chunk_id: int) -> SweepChunk | None:
    """Claim a chunk (queued, or silent for a lease) and read its customers; None if it was
    not ours. Whoever finishes a sweep's last chunk finishes the sweep."""
    chunk = run_claim(SweepChunk, pk=chunk_id)
    if chunk is None:
        return None
    try:
        run_update(chunk, worker=f"{socket.gethostname()}/{os.getpid()}"[:200])
        _chunk_run(chunk)
        status, error = SweepChunk.Status.DONE, ""
    except LeaseLost:
        log.warning("sweep chunk %s: another worker took it over; stopping", chunk.pk)
        return None
    except Exception:
        log.exception("sweep chunk %s crashed", chunk.pk)
        status = SweepChunk.Status.FAILED
        error = "The sweep stopped on an unexpected error; the worker log has the details."
    try:
        run_finish(chunk, status=status, error=error)
    except LeaseLost:
        log.warning("sweep chunk %s: another worker took it over at the end", chunk.pk)
        return None
    sweep_finish_if_complete(sweep_id=chunk.sweep_id)
    return chunk


def _chunk_run(chunk: SweepChunk) -> None:
    sweep = ComplianceSweep.objects.get(pk=chunk.sweep_id)
    wanted = set(chunk.customer_ids)
    done = set(
        ComplianceSnapshot.objects.filter(sweep=sweep, customer_id__in=wanted).values_list(
            "customer_id", flat=True
        )
    )
    targets = [
        t
        for t in sweep_targets(region_id=sweep.region_id, customer_ids=wanted, known_policies=True)
        if t.customer_id not in done
    ]
    gone = len(wanted) - len(done) - len(targets)  # no longer swept since the plan
    if gone:
        ComplianceSweep.objects.filter(pk=sweep.pk).update(total=F("total") - gone)
    stale_before = timezone.now() - timedelta(days=settings.COMPLIANCE_DEVICE_STALE_DAYS)
    beat_every = max(1.0, settings.COMPLIANCE_SWEEP_LEASE_SECONDS / 4)
    pending: list[Outcome] = []
    last_save = last_beat = time.monotonic()
    for outcome in _outcomes_ticking(targets, stale_before=stale_before, tick=beat_every):
        if outcome is not None:
            pending.append(outcome)
        if pending and time.monotonic() - last_save >= _SAVE_EVERY:
            snapshots_record(chunk=chunk, outcomes=pending)
            pending, last_save = [], time.monotonic()
            last_beat = last_save
        elif time.monotonic() - last_beat >= beat_every:
            _chunk_beat(chunk)  # slow customers: no outcome for a while, but we are alive
            last_beat = time.monotonic()
    snapshots_record(chunk=chunk, outcomes=pending)


def _chunk_beat(chunk: SweepChunk) -> None:
    """The chunk's heartbeat, and the sweep's: a sweep is alive while any chunk is."""
    now = timezone.now()
    run_heartbeat(chunk)
    ComplianceSweep.objects.filter(pk=chunk.sweep_id, status=ComplianceSweep.Status.RUNNING).update(
        heartbeat_at=now
    )


def sweep_finish_if_complete(*, sweep_id: int) -> bool:
    """Finish the sweep once none of its chunks is unfinished: the trend, done (or failed
    with a chunk's reason), then `sweep_finished`. True for the one caller that finished it.

    Under the sweep's row lock, so the last two chunks finishing at once cannot both miss
    each other; the status compare-and-set makes a second caller a no-op. A sweep already
    finished or with chunks still running is told apart first without a lock or transaction
    (the caller that comes after the finish holds nothing)."""
    chunks = SweepChunk.objects.filter(sweep_id=sweep_id)
    if (
        not ComplianceSweep.objects.filter(
            pk=sweep_id, status=ComplianceSweep.Status.RUNNING
        ).exists()
        or chunks.filter(status__in=SweepChunk.UNFINISHED).exists()
    ):
        return False
    with transaction.atomic():
        sweep = (
            ComplianceSweep.objects.select_for_update()
            .filter(pk=sweep_id, status=ComplianceSweep.Status.RUNNING)
            .first()
        )
        chunks = SweepChunk.objects.filter(sweep_id=sweep_id)
        if (
            sweep is None
            or not chunks.exists()
            or chunks.filter(status__in=SweepChunk.UNFINISHED).exists()
        ):
            return False
        failed = chunks.filter(status=SweepChunk.Status.FAILED).exclude(error="").first()
        now = timezone.now()
        won = row_compare_and_set(
            sweep,
            expect=("status",),
            status=ComplianceSweep.Status.FAILED if failed else ComplianceSweep.Status.DONE,
            error=failed.error if failed else "",
            finished_at=now,
            heartbeat_at=now,
            lease_owner="",
        )
        if not won:
            return False
        trend_record(sweep=sweep)
    # Committed: listeners (alerts) read the new snapshots.
    sweep_finished.send(ComplianceSweep, sweep_id=sweep_id, region_id=sweep.region_id)
    return True


def _sweep_fail(sweep: ComplianceSweep, error: str) -> None:
    try:
        run_finish(sweep, status=ComplianceSweep.Status.FAILED, error=error)
    except LeaseLost:
        log.warning("compliance sweep %s: another worker took it over at the end", sweep.pk)


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


def sweep_targets(
    *,
    region_id: int | None = None,
    customer_ids: Iterable[int] | None = None,
    known_policies: bool = False,
) -> list[Target]:
    """Every swept customer of the region (None: of every active region), or of those of
    `customer_ids` still swept; regions loaded once. With `known_policies`, each carries its
    noncompliant devices' policies read within COMPLIANCE_POLICY_REFRESH_HOURS (two queries)."""
    customers = swept_customers().select_related("region").order_by("region_id", "pk")
    if region_id is not None:
        customers = customers.filter(region_id=region_id)
    if customer_ids is not None:
        customers = customers.filter(pk__in=list(customer_ids))
    customers = list(customers)
    known = _known_policies([c.pk for c in customers]) if known_policies else {}
    return [
        Target(
            customer_id=c.pk,
            tenant_id=str(c.tenant_id),
            region=c.region,
            relationship_status=c.relationship_status,
            known=known.get(c.pk, {}),
        )
        for c in customers
    ]


def _known_policies(customer_ids: list[int]) -> dict[int, dict[str, KnownPolicies]]:
    """Per customer, the noncompliant devices whose policy states were read recently enough
    to reuse while the device has not checked in since."""
    fresh_after = timezone.now() - timedelta(hours=settings.COMPLIANCE_POLICY_REFRESH_HOURS)
    devices = list(
        NoncompliantDevice.objects.filter(
            customer_id__in=customer_ids,
            policies_read=True,
            policies_read_at__gt=fresh_after,
            last_sync_at__isnull=False,
        ).values_list("pk", "customer_id", "device_id", "last_sync_at", "policies_read_at")
    )
    names: dict[int, list[str]] = {}
    # A join, not the devices' ids sent back: thousands of them in a chunk of 100 customers.
    for device_pk, name in NoncompliantPolicy.objects.filter(
        device__customer_id__in=customer_ids,
        device__policies_read=True,
        device__policies_read_at__gt=fresh_after,
        device__last_sync_at__isnull=False,
    ).values_list("device_id", "name"):
        names.setdefault(device_pk, []).append(name)
    known: dict[int, dict[str, KnownPolicies]] = {}
    for device_pk, customer_id, device_id, last_sync_at, read_at in devices:
        known.setdefault(customer_id, {})[device_id] = KnownPolicies(
            last_sync_at=last_sync_at,
            read_at=read_at,
            names=tuple(sorted(names.get(device_pk, []))),
        )
    return known


def snapshots_record(*, chunk: SweepChunk, outcomes: list[Outcome]) -> None:
    """Store a batch of a chunk's outcomes, move the customers' pointers, count progress in
    the chunk and in its sweep."""
    now = timezone.now()
    snapshots = [
        ComplianceSnapshot(
            sweep_id=chunk.sweep_id,
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
        # Under the chunk's row lock and only while this worker holds its lease: a worker
        # presumed dead that wakes up stores nothing once another one has taken over. The
        # fenced progress write rolls the batch back where the lock is a no-op (SQLite).
        run_lock(chunk)
        ComplianceSnapshot.objects.bulk_create(snapshots, batch_size=500)
        pointers_move(snapshots=snapshots)
        noncompliant_replace(outcomes=[o for o in outcomes if o.tally is not None])
        run_update(chunk, done=chunk.done + len(outcomes), heartbeat_at=now)
        # Every chunk adds to the one sweep row (F(): no read-modify-write race between them).
        ComplianceSweep.objects.filter(pk=chunk.sweep_id).update(
            done=F("done") + len(outcomes),
            failed=F("failed") + sum(not o.ok for o in outcomes),
            requests=F("requests") + sum(o.requests for o in outcomes),
            heartbeat_at=now,
        )
    if any(o.tally is not None for o in outcomes):
        # After the batch's transaction: a page that read the filter choices while it ran
        # cached what it saw before, under the version outdated now.
        noncompliant_choices_outdate()


def noncompliant_replace(*, outcomes: list[Outcome]) -> None:
    """Each successfully read customer's noncompliant devices become these; a device already
    listed keeps its `since`, one no longer noncompliant leaves the list.

    Only what changed is written (issue 18): between two sweeps most noncompliant devices
    are the same ones failing the same policies, and only their `seen_at` moves. So the
    stored devices and policies are read first; then one statement moves `seen_at`, and only
    new or changed devices, devices gone and policies added or gone are written. A handful
    of queries for the whole batch of customers, not a handful per customer."""
    if not outcomes:
        return
    # Intune's ids are GUIDs (they link to the device's page); anything else is skipped.
    listed: dict[int, tuple[Outcome, dict[str, dict]]] = {}
    for outcome in outcomes:
        assert outcome.tally is not None
        devices = {_guid(d.get("id")): d for d in outcome.tally.noncompliant if _guid(d.get("id"))}
        listed[outcome.customer_id] = (outcome, devices)
    customer_ids = list(listed)
    stored: dict[tuple[int, str], tuple[int, tuple]] = {
        (row[1], row[2]): (row[0], row[3:])
        for row in NoncompliantDevice.objects.filter(customer_id__in=customer_ids).values_list(
            "pk", "customer_id", "device_id", *_DEVICE_FIELDS
        )
    }
    gone = [pk for (c, device_id), (pk, _) in stored.items() if device_id not in listed[c][1]]
    if gone:
        NoncompliantPolicy.objects.filter(device_id__in=gone).delete()
        NoncompliantDevice.objects.filter(pk__in=gone).delete()
    # Every device still listed was seen by this sweep; the new and changed are written next.
    if len(gone) < len(stored):
        NoncompliantDevice.objects.filter(customer_id__in=customer_ids).update(
            seen_at=Case(
                *(When(customer_id=c, then=Value(o.taken_at)) for c, (o, _) in listed.items()),
                output_field=DateTimeField(),
            )
        )
    rows = []
    for customer_id, (outcome, devices) in listed.items():
        for device_id, d in devices.items():
            fields = (
                str(d.get("deviceName") or "")[:256],
                str(d.get("userPrincipalName") or "")[:256],
                str(d.get("operatingSystem") or "")[:64],
                graph_time(d.get("lastSyncDateTime")),
                str(d.get("id")) in outcome.policies,
                outcome.policies_read_at.get(str(d.get("id"))),
            )
            known = stored.get((customer_id, device_id[:64]))
            if known is not None and known[1] == fields:
                continue
            rows.append(
                NoncompliantDevice(
                    customer_id=customer_id,
                    device_id=device_id[:64],
                    since=outcome.taken_at,
                    seen_at=outcome.taken_at,
                    **dict(zip(_DEVICE_FIELDS, fields, strict=True)),
                )
            )
    NoncompliantDevice.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["customer", "device_id"],
        update_fields=[*_DEVICE_FIELDS, "seen_at"],
        batch_size=1000,
    )
    _failing_policies_replace(listed, stored={k: pk for k, (pk, _) in stored.items()})


# What a sweep may change on a listed device (besides seen_at); `since` stays.
_DEVICE_FIELDS = (
    "device_name",
    "user_principal_name",
    "operating_system",
    "last_sync_at",
    "policies_read",
    "policies_read_at",
)


def _failing_policies_replace(
    listed: dict[int, tuple[Outcome, dict[str, dict]]], *, stored: dict[tuple[int, str], int]
) -> None:
    """The devices' failing policies become those their outcome read (none for a device
    whose states could not be read: it says "unknown"): only the differences are written.
    `stored`: the pks of the devices that were listed before this batch."""
    pks = dict(stored)
    if any((c, d[:64]) not in pks for c, (_, devices) in listed.items() for d in devices):
        pks.update(
            ((c, d), pk)
            for c, d, pk in NoncompliantDevice.objects.filter(
                customer_id__in=list(listed)
            ).values_list("customer_id", "device_id", "pk")
        )
    wanted = {
        (pks[(customer_id, device_id[:64])], name[:256])
        for customer_id, (outcome, devices) in listed.items()
        for device_id, d in devices.items()
        if (customer_id, device_id[:64]) in pks
        for name in outcome.policies.get(str(d.get("id")), [])
    }
    held = {
        (device_pk, name): pk
        for pk, device_pk, name in NoncompliantPolicy.objects.filter(
            device__customer_id__in=list(listed)
        ).values_list("pk", "device_id", "name")
    }
    stale = [pk for key, pk in held.items() if key not in wanted]
    if stale:
        NoncompliantPolicy.objects.filter(pk__in=stale).delete()
    NoncompliantPolicy.objects.bulk_create(
        [NoncompliantPolicy(device_id=d, name=n) for d, n in wanted if (d, n) not in held],
        batch_size=1000,
    )


def _guid(value: object) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return ""


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
