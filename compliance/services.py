"""Writes about compliance: starting and running sweeps, saving snapshots, pruning history."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from compliance.collect import Outcome, Target, devices_read_many
from compliance.models import (
    ComplianceSnapshot,
    ComplianceSweep,
    ComplianceTrendPoint,
    CustomerCompliance,
)
from compliance.selectors import swept_customers

log = logging.getLogger(__name__)

UNFINISHED = [ComplianceSweep.Status.QUEUED, ComplianceSweep.Status.RUNNING]
_SAVE_EVERY = 1.0  # seconds between progress writes


def sweep_start(*, requested_by: str = "") -> tuple[ComplianceSweep, bool]:
    """A queued sweep, or the unfinished one already there; (sweep, created)."""
    _sweep_reap_abandoned()
    try:
        with transaction.atomic():
            return ComplianceSweep.objects.create(requested_by=requested_by), True
    except IntegrityError:
        sweep = ComplianceSweep.objects.filter(status__in=UNFINISHED).first()
        if sweep is None:  # it finished between our insert and this read
            return sweep_start(requested_by=requested_by)
        return sweep, False


def _sweep_reap_abandoned() -> None:
    """Fail sweeps whose worker died (no heartbeat for a while), so the lock is released."""
    cutoff = timezone.now() - timedelta(seconds=settings.COMPLIANCE_SWEEP_STALE_AFTER)
    ComplianceSweep.objects.filter(
        Q(status=ComplianceSweep.Status.RUNNING, heartbeat_at__lt=cutoff)
        | Q(status=ComplianceSweep.Status.QUEUED, created_at__lt=cutoff)
    ).update(
        status=ComplianceSweep.Status.FAILED,
        finished_at=timezone.now(),
        error="The sweep stopped without finishing (worker restarted or queue lost). "
        "Start a new one.",
    )


def sweep_targets() -> list[Target]:
    """Every swept customer of every active region, regions loaded once."""
    customers = swept_customers().select_related("region").order_by("region_id", "pk")
    return [
        Target(customer_id=c.pk, tenant_id=str(c.tenant_id), region=c.region) for c in customers
    ]


def compliance_sweep(*, sweep_id: int) -> ComplianceSweep | None:
    """Run a queued sweep: one snapshot per customer; one customer's failure stops nothing."""
    with transaction.atomic():
        sweep = (
            ComplianceSweep.objects.select_for_update(skip_locked=True)
            .filter(pk=sweep_id, status=ComplianceSweep.Status.QUEUED)
            .first()
        )
        if sweep is None:  # already run (a redelivered task), running, or reaped
            return None
        sweep.status = ComplianceSweep.Status.RUNNING
        sweep.started_at = sweep.heartbeat_at = timezone.now()
        sweep.save(update_fields=["status", "started_at", "heartbeat_at"])
    try:
        _sweep_run(sweep)
        sweep.status = ComplianceSweep.Status.DONE
    except Exception:
        log.exception("compliance sweep %s crashed", sweep.pk)
        sweep.status = ComplianceSweep.Status.FAILED
        sweep.error = "The sweep stopped on an unexpected error; the worker log has the details."
    sweep.finished_at = timezone.now()
    sweep.save()
    return sweep


def _sweep_run(sweep: ComplianceSweep) -> None:
    targets = sweep_targets()
    sweep.total = len(targets)
    sweep.save(update_fields=["total"])
    stale_before = timezone.now() - timedelta(days=settings.COMPLIANCE_DEVICE_STALE_DAYS)
    pending: list[Outcome] = []
    last_save = time.monotonic()
    for outcome in devices_read_many(
        targets=targets, stale_before=stale_before, concurrency=settings.COMPLIANCE_CONCURRENCY
    ):
        pending.append(outcome)
        if time.monotonic() - last_save >= _SAVE_EVERY:
            snapshots_record(sweep=sweep, outcomes=pending)
            pending, last_save = [], time.monotonic()
    snapshots_record(sweep=sweep, outcomes=pending)
    trend_record(sweep=sweep)


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
        ComplianceSnapshot.objects.bulk_create(snapshots, batch_size=500)
        pointers_move(snapshots=snapshots)
        sweep.done += len(outcomes)
        sweep.failed += sum(not o.ok for o in outcomes)
        sweep.requests += sum(o.requests for o in outcomes)
        sweep.heartbeat_at = now
        sweep.save(update_fields=["done", "failed", "requests", "heartbeat_at"])


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
            CustomerCompliance.objects.filter(last_snapshot_id__in=ids).update(last_snapshot=None)
            CustomerCompliance.objects.filter(last_good_snapshot_id__in=ids).update(
                last_good_snapshot=None
            )
            _, per_model = ComplianceSnapshot.objects.filter(pk__in=ids).delete()
            deleted += per_model.get(ComplianceSnapshot._meta.label, 0)
    ComplianceSweep.objects.filter(created_at__lt=cutoff).exclude(status__in=UNFINISHED).delete()
    return deleted
