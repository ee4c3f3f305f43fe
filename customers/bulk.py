"""Bulk actions: one action on many users or Intune devices of a customer, as a background run
(portal/runs.py) acting as the manager who started it, through a delegated grant of their
tokens (regions.delegation). The task message carries the run's id only.

The Graph side is customers/action_calls.py, the same code a detail page runs: per chunk of 20
objects one `$batch` of reads and one of writes (two round trips per 20 users). Every write is
marked "sending" (with its time) and committed before it leaves, so a worker that takes over
after a kill reads those objects again and recognises from Graph's state a write that already
happened instead of sending it twice. Intune writes are paced under the per-tenant write limit
(BULK_INTUNE_WRITES in any BULK_INTUNE_WINDOW seconds); throttled items wait their Retry-After
and are tried again a few times before they are recorded as throttled.

Not in bulk, on purpose: reset-password (one password per user would have to be kept for the
job page), wipe (it is confirmed by typing each device's name), group membership changes
(their group comes from a per-object form), and the Entra device enable/disable (a second
read per device, and a lock-out one confirms device by device).
# Reference: https://learn.microsoft.com/en-us/graph/json-batching
# Reference: https://learn.microsoft.com/en-us/graph/throttling-limits#intune-service-limits
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Role, User
from audit.services import audit_record
from customers.action_calls import (
    SUCCEEDED,
    ActionParams,
    Outcome,
    Read,
    Step,
    Write,
    failure,
    guid_clean,
    plan,
    reads,
    settle,
)
from customers.actions import ACTIONS_BY_NAME, Action, Target, actions_for
from customers.models import ActionOutcomeKind, BulkItem, BulkRun, Customer
from mscloud.batch import BatchRequest
from mscloud.errors import ErrorKind, MicrosoftError
from mscloud.graph import BATCH_LIMIT, GraphClient
from mscloud.identity import InteractionRequired
from portal.queueing import enqueue_after_commit
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
from regions.delegation import GrantExpired, grant_capture, grant_end, grants_purge, graph_as_grant
from regions.models import DelegatedGrant

log = logging.getLogger(__name__)

Kind = ActionOutcomeKind

BULK_ACTIONS: dict[Target, tuple[str, ...]] = {
    Target.USER: ("block-sign-in", "unblock-sign-in", "revoke-sessions"),
    Target.DEVICE: ("sync", "restart", "retire"),
}
GRANT_PURPOSE = "bulk action"
# What the job page says it is doing ("Blocking 140 of 500").
_VERBS = {
    "block-sign-in": "Blocking",
    "unblock-sign-in": "Unblocking",
    "revoke-sessions": "Revoking sessions of",
    "sync": "Syncing",
    "restart": "Restarting",
    "retire": "Retiring",
}
_NOUNS = {Target.USER: "users", Target.DEVICE: "Intune devices"}
_UNFINISHED_ITEMS = (Kind.PENDING, Kind.SENDING)
# Rounds per chunk: the first, then this many more for the items Microsoft throttled (after
# the Graph client's own retries) or whose write it did not confirm.
ROUNDS = 4
# The longest Retry-After the job sleeps through in one go (heartbeating meanwhile).
MAX_WAIT_SECONDS = 300.0


class BulkRefused(Exception):
    """The bulk action cannot start (or go on); `message` says why, as a sentence, and
    `status` is the page's: 400 for the selection or the action asked, 403 for a role."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# -- starting ---------------------------------------------------------------------------------


def bulk_ids_clean(raw: Iterable[str]) -> list[str]:
    """Object ids from a form: lower-case GUIDs, de-duplicated in order (blank lines skipped);
    BulkRefused for anything else, for none, and for more than BULK_MAX_ITEMS."""
    ids: dict[str, None] = {}
    for value in raw:
        text = str(value).strip()
        if not text:
            continue
        clean = guid_clean(text)  # a GUID in canonical lower case, or ""
        if not clean:
            shown = text if len(text) <= 40 else text[:39] + "…"
            raise BulkRefused(
                f"“{shown}” is not a user or device id, so nothing was started. Choose the "
                "rows again in the table."
            )
        ids[clean] = None
    if not ids:
        raise BulkRefused("No rows were selected, so nothing was started. Select some first.")
    limit = settings.BULK_MAX_ITEMS
    if len(ids) > limit:
        raise BulkRefused(
            f"{len(ids):,} objects were selected; one bulk action takes at most {limit:,}. "
            "Narrow the filter, or run it in parts."
        )
    return list(ids)


def bulk_start(
    *,
    session: SessionBase,
    customer: Customer,
    user: User,
    target: Target,
    action_name: str,
    object_ids: list[str],
    form_key: uuid.UUID | None = None,
) -> tuple[BulkRun, bool]:
    """A queued bulk action as `user` (their session's tokens lent to it), or the customer's
    unfinished one: (run, created). BulkRefused with the reason when it may not start.
    `form_key`: the confirmation form's idempotency key, stored on the new run."""
    target = Target(target)
    action = _bulk_action(target, action_name)
    if action is None:
        raise BulkRefused(
            f"“{action_name}” cannot be run in bulk on {_NOUNS[target]}. Run it from each "
            "one's own page."
        )
    if not user.has_role(Role.MANAGER):
        raise BulkRefused(
            "Bulk actions are for managers: your portal role is "
            f"{Role(user.role).label}. Ask a manager, or run the action one at a time.",
            status=403,
        )
    region = customer.region
    if not region.active:
        raise BulkRefused(
            f"The {region.name} region is not active, so nothing was started.", status=403
        )
    if not user.crosses_regions and user.region_id != customer.region_id:
        raise BulkRefused(f"{customer.name} is not a customer of your region.", status=403)
    ids = bulk_ids_clean(object_ids)
    verdict = next(
        v
        for v in actions_for(target=target, user=user, session=session, customer=customer)
        if v.action.name == action.name
    )
    if not verdict.allowed:
        raise BulkRefused(
            f"You cannot {action.label.lower()} in {customer.name}, so nothing was started. "
            + " ".join(verdict.reasons),
            status=403,
        )
    from customers.tasks import bulk_run  # the task module imports this one

    with transaction.atomic():
        run, created = run_start(
            BulkRun,
            key={"customer": customer},
            requested_by=str(user),
            user=user,
            region=region,
            action=action.name,
            target=str(target),
            total=len(ids),
            step="Queued",
            form_key=form_key,
        )
        if not created:
            return run, False
        try:
            run.grant_id = grant_capture(
                session=session,
                region=region,
                purpose=GRANT_PURPOSE,
                ttl=settings.BULK_GRANT_TTL_SECONDS,
                by=str(user),
            )
        except InteractionRequired:
            raise BulkRefused(
                "Your sign-in holds no tokens the job could act with. Sign in again, then "
                "start it again."
            ) from None
        run.save(update_fields=["grant_id"])
        BulkItem.objects.bulk_create(
            [BulkItem(run=run, object_id=object_id) for object_id in ids], batch_size=1000
        )
        audit_record(
            action="customer.bulk.start",
            user=user,
            region=region.slug,
            tenant_id=str(customer.tenant_id),
            detail={"action": action.name, "target": str(target), "count": len(ids), "run": run.pk},
        )
        enqueue_after_commit(bulk_run, run.pk, what=BulkRun.run_noun)
    return run, True


def _bulk_action(target: Target, name: str) -> Action | None:
    if name not in BULK_ACTIONS.get(target, ()):
        return None
    return ACTIONS_BY_NAME[(target, name)]


# -- the watch --------------------------------------------------------------------------------


def bulk_runs_abandoned() -> list[int]:
    return runs_abandoned(BulkRun)


def bulk_grants_tidy() -> None:
    """End the grants of finished runs (one failed by its attempts limit never ended its own)
    and purge expired ones."""
    for run in BulkRun.objects.filter(
        status__in=[BulkRun.Status.DONE, BulkRun.Status.FAILED], grant_id__isnull=False
    ):
        grant_end(str(run.grant_id))
        BulkRun.objects.filter(pk=run.pk).update(grant_id=None)
    grants_purge()


# -- running ----------------------------------------------------------------------------------


class _Stop(Exception):
    """The run may not go on (isolation re-checked between chunks); the sentence says why."""


def bulk_execute(*, run_id: int) -> BulkRun | None:
    """Run (or take over and finish) a queued bulk action; None when it is not ours."""
    run = run_claim(BulkRun, pk=run_id)
    if run is None:
        return None
    grant_id = str(run.grant_id) if run.grant_id else ""
    try:
        # Before any token or Graph call: the job may still act, as this person, here.
        refusal = _refusal(run)
        if refusal:
            raise _Stop(refusal)
        if not grant_id or not DelegatedGrant.objects.filter(pk=grant_id).exists():
            raise GrantExpired()
        _work(run, grant_id)
    except LeaseLost:
        log.warning("bulk action %s: another worker took it over; stopping", run.pk)
        return None
    except _Stop as stop:
        return _end(run, grant_id, error=str(stop))
    except GrantExpired as exc:
        return _end(run, grant_id, error=exc.description)
    except InteractionRequired:
        return _end(
            run,
            grant_id,
            error=(
                "Microsoft wants the person who started this job to sign in again, so it "
                "stopped. Sign in and start it again for the items not done."
            ),
        )
    except Exception:
        log.exception("bulk action %s of customer %s crashed", run.pk, run.customer_id)
        return _end(run, grant_id, error="Unexpected error; see the worker log.")
    return run


def _refusal(run: BulkRun) -> str | None:
    """Why this run may no longer act, read fresh from the database; None when it may."""
    region = run.region
    region.refresh_from_db(fields=["active"])
    if not Customer.objects.filter(pk=run.customer_id, region_id=run.region_id).exists():
        return "This job's customer is not in the job's region, so nothing more was done."
    if not region.active:
        return f"The {region.name} region was deactivated, so nothing more was done."
    action = _bulk_action(Target(run.target), run.action)
    if action is None:
        return f"“{run.action}” is not a bulk action, so nothing was done."
    user = User.objects.filter(pk=run.user_id).first() if run.user_id else None
    if user is None:
        return (
            "The person who started this job no longer has a portal account, so nothing more "
            "was done."
        )
    if not user.is_active:
        return f"{user}'s portal account is disabled, so nothing more was done."
    if not user.crosses_regions and user.region_id != run.region_id:
        return f"{user} no longer belongs to the {region.name} region, so nothing more was done."
    for needed in (Role.MANAGER, action.portal_role):
        if not user.has_role(needed):
            return (
                f"{user} no longer has the {Role(needed).label} role this job needs, so "
                "nothing more was done."
            )
    return None


def _end(run: BulkRun, grant_id: str, *, error: str) -> BulkRun | None:
    try:
        run_finish(run, status=BulkRun.Status.FAILED, error=error, step="Stopped")
    except LeaseLost:
        return None
    _grant_drop(run, grant_id)
    return run


def _grant_drop(run: BulkRun, grant_id: str) -> None:
    """Forget the tokens lent to the run (its row no longer names them)."""
    grant_end(grant_id)
    BulkRun.objects.filter(pk=run.pk).update(grant_id=None)
    run.grant_id = None


@dataclass
class _Job:
    run: BulkRun
    action: Action
    customer: Customer
    graph: GraphClient
    actor: str
    pace: _Pace | None

    def beat(self, **changes: object) -> None:
        run_heartbeat(self.run, every=0 if changes else _beat_every(), **changes)

    def step(self, note: str = "", *, done: int | None = None) -> str:
        """What the job page shows: "Blocking 140 of 500" (finished so far), and why it waits."""
        if done is None:
            done = self.run.succeeded + self.run.failed
        text = f"{_VERBS[self.action.name]} {done} of {self.run.total}"
        return (f"{text} ({note})" if note else text)[:100]


def _beat_every() -> float:
    return BulkRun.lease_seconds() / 4


def _work(run: BulkRun, grant_id: str) -> None:
    action = ACTIONS_BY_NAME[(Target(run.target), run.action)]
    customer = run.customer
    job = _Job(
        run=run,
        action=action,
        customer=customer,
        graph=graph_as_grant(
            grant_id=grant_id, region=run.region, tenant_id=str(customer.tenant_id)
        ),
        actor=f"{run.user} (bulk job {run.pk})",
        pace=(
            _Pace(settings.BULK_INTUNE_WRITES, settings.BULK_INTUNE_WINDOW)
            if action.target == Target.DEVICE
            else None
        ),
    )
    # Items a killed worker left "sending" are read again with the time their write left.
    items = list(run.items.filter(outcome__in=_UNFINISHED_ITEMS).order_by("pk"))
    for start in range(0, len(items), BATCH_LIMIT):
        refusal = _refusal(run)
        if refusal:
            raise _Stop(refusal)
        job.beat(step=job.step())
        _chunk(job, items[start : start + BATCH_LIMIT])
    run_finish(run, status=BulkRun.Status.DONE, step="Done")
    _grant_drop(run, grant_id)


@dataclass
class _Again:
    """An item to try in the next round: `write` to send again (Microsoft throttled it, so it
    did not run), or without one, to read again (nothing read yet, or a write Microsoft did
    not confirm: reading it with its `sent_at` tells). `outcome` stands if no round is left."""

    item: BulkItem
    outcome: Outcome
    write: Write | None = None


Results = list[tuple[BulkItem, Outcome]]


def _chunk(job: _Job, items: list[BulkItem]) -> None:
    """Up to 20 objects: read, decide, write, record; throttled ones again after a wait."""
    to_read, to_write = items, []
    for round_ in range(1, ROUNDS + 1):
        finished, again = _round(job, to_read, to_write)
        if round_ == ROUNDS:
            finished += [(a.item, a.outcome) for a in again]
            again = []
        _record(job, finished)
        if not again:
            return
        wait = max((a.outcome.retry_after or 0.0 for a in again), default=0.0)
        wait = min(max(wait, 1.0), MAX_WAIT_SECONDS)
        job.beat(step=job.step(f"Microsoft asked to wait {wait:.0f} s"))
        _sleep(job, wait)
        to_read = [a.item for a in again if a.write is None]
        to_write = [(a.item, a.write) for a in again if a.write is not None]


def _round(
    job: _Job, to_read: list[BulkItem], to_write: list[tuple[BulkItem, Write]]
) -> tuple[Results, list[_Again]]:
    """One read batch and one write batch for the chunk (more when pacing splits the writes,
    and throttled writes of the last round go first, before reads can use up the budget)."""
    finished: Results = []
    again: list[_Again] = []
    for part in _slices(to_write, job.pace):
        _send(job, part, finished, again)
    writes = _read(job, to_read, finished, again)
    for part in _slices(writes, job.pace):
        _send(job, part, finished, again)
    return finished, again


def _read(
    job: _Job, todo: list[BulkItem], finished: Results, again: list[_Again]
) -> list[tuple[BulkItem, Write]]:
    """Read `todo` in one batch and decide each: the writes to send; outcomes known already
    go to `finished` (throttled ones to `again`)."""
    if not todo:
        return []
    action, customer = job.action, job.customer
    params = {item.pk: ActionParams(sent_at=item.sent_at) for item in todo}
    prefixes = {item.pk: f"{n}:" for n, item in enumerate(todo)}
    requests = [
        request
        for item in todo
        for request in reads(action, item.object_id, params[item.pk], prefix=prefixes[item.pk])
    ]
    try:
        answers = job.graph.batch(requests)
    except InteractionRequired:
        raise
    except MicrosoftError as exc:
        # The whole batch failed: nothing was read, nothing written.
        for item in todo:
            outcome = failure(action, exc, customer)
            if exc.transient:
                again.append(_Again(item, outcome))
            else:
                finished.append((item, outcome))
        return []
    steps: dict[int, Step] = {
        item.pk: plan(
            action,
            item.object_id,
            params[item.pk],
            answers,
            prefix=prefixes[item.pk],
            customer=customer,
        )
        for item in todo
    }
    _further_reads(job, todo, steps)
    writes: list[tuple[BulkItem, Write]] = []
    for item in todo:
        step = steps[item.pk]
        if isinstance(step, Write):
            writes.append((item, step))
            continue
        assert isinstance(step, Outcome)
        if item.sent_at is not None and step.kind == Kind.DONE and item.before:
            # Recognised as written by an earlier attempt: its before is what that one read.
            step.before = item.before
        if step.kind == Kind.THROTTLED:
            again.append(_Again(item, step))
        else:
            finished.append((item, step))
    return writes


def _further_reads(job: _Job, todo: list[BulkItem], steps: dict[int, Step]) -> None:
    """Second reads some actions need (none of the bulk ones today), one batch per round."""
    while True:
        pending = [(item, s) for item in todo if isinstance(s := steps[item.pk], Read)]
        if not pending:
            return
        try:
            answers = job.graph.batch([s.request for _, s in pending])
        except InteractionRequired:
            raise
        except MicrosoftError as exc:
            for item, _ in pending:
                steps[item.pk] = failure(job.action, exc, job.customer)
            return
        for item, s in pending:
            steps[item.pk] = s.then(answers[s.request.id])


def _send(
    job: _Job, part: list[tuple[BulkItem, Write]], finished: Results, again: list[_Again]
) -> None:
    """Mark `part` as sending (committed), send its writes in one batch, settle each."""
    if job.pace is not None:
        noted = False
        while (wait := job.pace.delay(len(part))) > 0:
            if not noted:
                job.beat(step=job.step(job.pace.note))
                noted = True
            _sleep(job, wait)
    _mark_sending(job.run, part)
    requests: list[BatchRequest] = [write.request for _, write in part]
    try:
        answers = job.graph.batch(requests)
    except InteractionRequired:
        raise
    except MicrosoftError as exc:
        _unconfirmed(job, part, exc, finished, again)
        return
    finally:
        if job.pace is not None:
            job.pace.record(len(part))
    for item, write in part:
        outcome = settle(job.action, write, answers[write.request.id], job.customer)
        if outcome.kind == Kind.THROTTLED:  # not run: the same write goes again
            again.append(_Again(item, outcome, write))
        else:
            finished.append((item, outcome))


def _unconfirmed(
    job: _Job,
    part: list[tuple[BulkItem, Write]],
    exc: MicrosoftError,
    finished: Results,
    again: list[_Again],
) -> None:
    """A write batch that failed as a whole. With Microsoft's refusal (4xx) nothing ran; with
    no answer or a 5xx it may have, so those are read again (with the time they were sent)
    in the next round, which tells. Their outcome stands only if no round is left."""
    refused = exc.status is not None and 400 <= exc.status < 500
    for item, write in part:
        outcome = failure(job.action, exc, job.customer)
        outcome.name, outcome.before = write.done.name, write.done.before
        if not refused:
            outcome.kind = Kind.FAILED
            outcome.message = (
                f"Microsoft did not confirm the change to {write.done.name} "
                f"({outcome.message}); it may or may not have been made. Check it, and run "
                "the action again if needed."
            )
            again.append(_Again(item, outcome))
            continue
        outcome.after = write.done.before  # nothing changed
        if exc.kind == ErrorKind.THROTTLED:
            again.append(_Again(item, outcome, write))
        else:
            finished.append((item, outcome))


def _slices(
    writes: list[tuple[BulkItem, Write]], pace: _Pace | None
) -> list[list[tuple[BulkItem, Write]]]:
    size = BATCH_LIMIT if pace is None else max(1, min(BATCH_LIMIT, pace.limit))
    return [writes[i : i + size] for i in range(0, len(writes), size)]


def _mark_sending(run: BulkRun, part: list[tuple[BulkItem, Write]]) -> None:
    """Committed before the writes leave, and only while this worker holds the run."""
    now = timezone.now()
    with transaction.atomic():
        run_lock(run)
        for item, write in part:
            item.outcome = Kind.SENDING
            item.sent_at = now
            item.name = write.done.name[:256]
            item.before = write.done.before
            _item_save(item, "outcome", "sent_at", "name", "before")
        run_update(run, heartbeat_at=now)


def _item_save(item: BulkItem, *fields: str) -> None:
    # One UPDATE per row: bulk_update's CASE per field costs more CPU than 20 plain UPDATEs.
    BulkItem.objects.filter(pk=item.pk).update(**{name: getattr(item, name) for name in fields})


def _record(job: _Job, finished: Results) -> None:
    """The items' outcomes, the run's counts and one audit row per item, in one fenced
    transaction: a takeover finds each item either finished and audited, or neither."""
    if not finished:
        return
    run = job.run
    now = timezone.now()
    with transaction.atomic():
        run_lock(run)
        for item, outcome in finished:
            item.outcome = outcome.kind
            item.message = outcome.message
            item.name = (outcome.name or item.name)[:256]
            item.before = outcome.before
            item.after = outcome.after
            item.finished_at = now
            _item_save(item, "outcome", "message", "name", "before", "after", "finished_at")
        for item, outcome in finished:
            audit_record(
                action=f"customer.action.{job.action.name}",
                user=run.user,
                actor=job.actor,
                region=run.region.slug,
                tenant_id=str(job.customer.tenant_id),
                detail={
                    "object_id": item.object_id,
                    "name": item.name,
                    "before": outcome.before,
                    "after": outcome.after,
                    "result": str(outcome.kind),
                    "message": outcome.message,
                    "job": run.pk,
                },
            )
        counts = run.items.filter(finished_at__isnull=False).aggregate(
            succeeded=Count("pk", filter=Q(outcome__in=SUCCEEDED)),
            failed=Count("pk", filter=~Q(outcome__in=SUCCEEDED)),
        )
        done = counts["succeeded"] + counts["failed"]
        run_update(run, heartbeat_at=now, step=job.step(done=done), **counts)


# -- pacing and waiting -----------------------------------------------------------------------


class _Pace:
    """At most `limit` writes in any `window` seconds: a sliding window of when each write
    batch was answered (Graph had run its writes by then, so its own window can only see
    them further apart)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = max(1, int(limit))
        self.window = float(window)
        self._sent: deque[float] = deque()

    @property
    def note(self) -> str:
        return f"pausing for Intune's limit of {self.limit} changes per {self.window:g} s"

    def delay(self, count: int) -> float:
        """Seconds until `count` more writes fit in the window (0: now)."""
        now = time.monotonic()
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        over = len(self._sent) + min(count, self.limit) - self.limit
        if over <= 0:
            return 0.0
        # The `over` oldest writes must leave the window first.
        return max(self._sent[over - 1] + self.window - now, 0.01)

    def record(self, count: int) -> None:
        self._sent.extend([time.monotonic()] * count)


def _sleep(job: _Job, seconds: float) -> None:
    """Sleep, heartbeating often enough that nobody takes the run over meanwhile."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, _beat_every()))
        job.beat()
