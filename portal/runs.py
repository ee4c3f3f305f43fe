"""One lifecycle for background runs: start or join, claim, heartbeat, fenced writes, finish.

A run is a database row that a Celery task works on. The database, not the broker, is the
source of truth: at most one unfinished run per key (a partial unique index), a worker holds a
run through a lease (`lease_owner` + `heartbeat_at`), and every write of the worker is fenced
on its `lease_owner`, so a worker presumed dead that wakes up after another one took its run
over writes nothing (it gets `LeaseLost`). Claims lock the row with SKIP LOCKED and are also
a compare-and-set, because FOR UPDATE is a no-op on SQLite (the embedded `make run`).

`LeasedRun` is the abstract model (customer syncs, compliance sweeps). The row-level pieces
(`row_compare_and_set`, `fenced_update`, `run_start`) also serve runs with a lifecycle of their
own, such as provisioning's scheduled attempts. This module imports no app.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from celery import Task
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from portal.queueing import enqueue_after_commit

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker took this run over: ours was silent for a whole lease."""


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


UNFINISHED = (RunStatus.QUEUED, RunStatus.RUNNING)


def unfinished_constraint(
    *, field: str, name: str, statuses: Iterable[str] = UNFINISHED
) -> models.UniqueConstraint:
    """At most one unfinished run per `field`: a second start joins the unfinished one.

    A partial unique index, so two starts at the same instant cannot both win. Each model
    passes its own key field and keeps its constraint's name (no migration for the rename)."""
    return models.UniqueConstraint(
        fields=[field],
        condition=Q(status__in=[str(s) for s in statuses]),
        name=name,
    )


class LeasedRun(models.Model):
    """A background run held by one worker at a time through a lease with a heartbeat.

    Subclasses set `run_noun` (for messages), the names of the settings that hold the lease
    and the attempts limit, and `Meta.constraints = [unfinished_constraint(...)]`.
    """

    Status = RunStatus
    UNFINISHED: ClassVar[tuple[str, ...]] = UNFINISHED
    run_noun: ClassVar[str] = "run"
    lease_setting: ClassVar[str]
    max_attempts_setting: ClassVar[str]

    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    requested_by = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # The lease: the worker running it refreshes heartbeat_at; one whose heartbeat is older
    # than the lease is presumed dead and another takes over. The owner token fences the old
    # worker off should it turn out to be alive after all.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # claims, takeovers included
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def finished(self) -> bool:
        return self.status in (RunStatus.DONE, RunStatus.FAILED)

    @classmethod
    def lease_seconds(cls) -> int:
        return int(getattr(settings, cls.lease_setting))

    @classmethod
    def max_attempts(cls) -> int:
        return int(getattr(settings, cls.max_attempts_setting))


M = TypeVar("M", bound=models.Model)
R = TypeVar("R", bound=LeasedRun)


# -- row-level pieces (any model) ------------------------------------------------------------


def row_compare_and_set(row: M, *, expect: Sequence[str], **changes: Any) -> bool:
    """UPDATE the row with `changes` only if the `expect` fields still hold what `row` read.

    True when this call won (the in-memory row then carries the changes). Under SELECT ... FOR
    UPDATE this never loses on PostgreSQL; on SQLite it is the only guard. `changes` are plain
    values (no F() expressions), so the in-memory row stays truthful."""
    unchanged = {name: getattr(row, name) for name in expect}
    won = type(row)._default_manager.filter(pk=row.pk, **unchanged).update(**changes) == 1
    if won:
        for name, value in changes.items():
            setattr(row, name, value)
    return won


def fenced_update(fence: QuerySet[Any], **changes: Any) -> None:
    """UPDATE the rows of `fence` (the run's row while we hold it); LeaseLost if there is none.

    Inside a transaction the UPDATE also takes the row lock, so a takeover waits for our
    commit and then finds the run no longer claimable."""
    if not fence.update(**changes):
        raise LeaseLost(fence.model._meta.label)


def run_start(model: type[M], *, key: Mapping[str, Any], **fields: Any) -> tuple[M, bool]:
    """A new run for `key`, or the unfinished one already there; (run, created).

    The model's partial unique constraint on `key` decides; `model.UNFINISHED` lists the
    statuses it covers. Safe inside an outer transaction (the insert is a savepoint)."""
    for again in (False, True):
        try:
            with transaction.atomic():
                return model._default_manager.create(**key, **fields), True
        except IntegrityError:
            run = (
                model._default_manager.filter(**key, status__in=model.UNFINISHED)  # type: ignore[attr-defined]
                .order_by("-pk")
                .first()
            )
            if run is not None:
                return run, False
            if again:  # not the one-unfinished constraint after all: let it be seen
                raise
            # Otherwise the unfinished run finished between our insert and this read.
    raise AssertionError("unreachable")


# -- the leased-run lifecycle ----------------------------------------------------------------


def run_request(
    model: type[R],
    *,
    key: Mapping[str, Any],
    task: Task,
    audit: Callable[[R], None] | None = None,
    **fields: Any,
) -> tuple[R, bool]:
    """What a view or a schedule calls: start or join; if new, audit it and queue `task(pk)`
    once the transaction commits (a broker outage leaves it queued for the watch)."""
    run, created = run_start(model, key=key, **fields)
    if created:
        if audit is not None:
            audit(run)
        enqueue_after_commit(task, run.pk, what=model.run_noun)
    return run, created


def _lease_cutoff(model: type[LeasedRun]) -> datetime:
    return timezone.now() - timedelta(seconds=model.lease_seconds())


def runs_abandoned(model: type[LeasedRun]) -> list[int]:
    """Unfinished runs nobody works on: the worker died, or the message was lost."""
    cutoff = _lease_cutoff(model)
    return list(
        model._default_manager.filter(
            Q(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff)
            | Q(status=RunStatus.QUEUED, created_at__lt=cutoff)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def run_claim(model: type[R], *, pk: int) -> R | None:
    """Take a queued run, or a running one whose lease ran out; None if it is not ours.

    A run claimed `max_attempts()` times already is failed with a sentence instead: its
    worker died every time (out of memory?), and the one-unfinished lock is released."""
    now = timezone.now()
    with transaction.atomic():
        run = (
            model._default_manager.select_for_update(skip_locked=True)
            .filter(pk=pk)
            .filter(
                Q(status=RunStatus.QUEUED)
                | Q(status=RunStatus.RUNNING, heartbeat_at__lt=_lease_cutoff(model))
            )
            .first()
        )
        if run is None:  # finished, or alive in another worker (a redelivered task)
            return None
        expect = ("status", "lease_owner", "attempts")
        if run.attempts >= model.max_attempts():
            row_compare_and_set(
                run,
                expect=expect,
                status=RunStatus.FAILED,
                finished_at=now,
                lease_owner="",
                error=(
                    f"The {model.run_noun} was interrupted {run.attempts} times (its worker "
                    "stopped each time) and was given up. Check the worker's log and memory, "
                    "then start a new one."
                ),
            )
            return None
        takeover = run.status == RunStatus.RUNNING
        won = row_compare_and_set(
            run,
            expect=expect,
            status=RunStatus.RUNNING,
            started_at=run.started_at or now,
            heartbeat_at=now,
            lease_owner=uuid.uuid4().hex,
            attempts=run.attempts + 1,
        )
        if not won:  # another worker claimed it between our read and our write (SQLite)
            return None
    if takeover:
        log.warning("%s %s: taken over from a silent worker", model.run_noun, run.pk)
    return run


def run_fenced(run: LeasedRun) -> QuerySet[Any]:
    """The run's row, as long as this worker still holds its lease."""
    return type(run)._default_manager.filter(
        pk=run.pk, lease_owner=run.lease_owner, status=RunStatus.RUNNING
    )


def run_update(run: LeasedRun, **changes: Any) -> None:
    """Write `changes` to the run if this worker still holds it; LeaseLost otherwise."""
    fenced_update(run_fenced(run), **changes)
    for name, value in changes.items():
        setattr(run, name, value)


def run_heartbeat(run: LeasedRun, *, every: float = 0, **changes: Any) -> None:
    """Tell the others this worker is alive (with any `changes`); LeaseLost if it was not.

    With `every` (seconds), a beat younger than that is skipped, so a caller can beat per item
    or per page without a write each time; `changes` are then not written either."""
    now = timezone.now()
    if every and run.heartbeat_at and (now - run.heartbeat_at).total_seconds() < every:
        return
    run_update(run, heartbeat_at=now, **changes)


def run_lock(run: LeasedRun) -> None:
    """Inside a transaction: lock the run's row while this worker holds it; LeaseLost if not.

    On SQLite the lock is a no-op; end such a transaction with a fenced write (`run_update`,
    `run_finish`), whose LeaseLost rolls back what was written under it."""
    if not run_fenced(run).select_for_update().exists():
        raise LeaseLost(run.pk)


def run_finish(run: LeasedRun, *, status: str, error: str = "", **changes: Any) -> None:
    """End the run (done or failed, with the reason) and give up its lease; fenced."""
    now = timezone.now()
    run_update(
        run,
        status=status,
        error=error,
        finished_at=now,
        heartbeat_at=now,
        lease_owner="",
        **changes,
    )
