"""An action click runs once: the form's idempotency key claims an ActionRecord before anything
is sent, a second submit of the same form waits for the first and shows its result, and every
outcome (refusals by the portal included) is audited with who, which tenant, which object, the
action, before → after and the result.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from customers.action_calls import Outcome
from customers.actions import Action
from customers.models import ActionOutcomeKind, ActionRecord, Customer
from mscloud.identity import InteractionRequired

# How long a second submit of the same form waits for the first one to finish.
REPLAY_WAIT_SECONDS = 15.0
# How long a form's key is remembered: longer than any session (8 h), so a form kept open in a
# tab and sent again after signing in once more still runs nothing twice.
RECORD_DAYS = 7


# What an agent reads when a form's key is not one of ours (an old page, or no form at all).
FORM_STALE = (
    "This form is out of date or did not come from the portal, so nothing was done. Open the "
    "page again and retry."
)


class FormKeyInvalid(Exception):
    """The form's key is missing, malformed, or belongs to another form."""


def form_key_parse(value: str | None) -> uuid.UUID:
    """The idempotency key a form carries; FormKeyInvalid when it is not one of ours."""
    try:
        key = uuid.UUID(str(value or ""))
    except ValueError:
        raise FormKeyInvalid() from None
    if key.version != 4:
        raise FormKeyInvalid()
    return key


@dataclass(frozen=True)
class Click:
    """What one submit of an action form got: a fresh outcome, or the earlier run's record."""

    outcome: Outcome | None = None
    replayed: ActionRecord | None = None


def action_click(
    *,
    request: HttpRequest,
    key: uuid.UUID,
    customer: Customer,
    action: Action,
    object_id: str,
    run: Callable[[], Outcome],
    audit_extra: dict[str, Any] | None = None,
) -> Click:
    """Run `run` once for `key`: claim the key, run, record and audit the outcome. A key
    already claimed for the same action on the same object by the same agent replays that
    click (after waiting for it to finish); any other use of it is FormKeyInvalid."""
    user: User = request.user  # type: ignore[assignment]
    try:
        with transaction.atomic():
            record = ActionRecord.objects.create(
                key=key,
                user=user,
                customer=customer,
                action=action.name,
                object_id=object_id,
            )
    except IntegrityError:
        return Click(replayed=_replay(key, user, customer, action, object_id))
    try:
        outcome = run()
    except InteractionRequired:
        # No token, so nothing reached Microsoft: free the key so that the same form can be
        # sent again once the agent has signed in to the customer.
        record.delete()
        raise
    except Exception:
        # Whether the write left is unknown: the key stays used, so a resend runs nothing.
        ActionRecord.objects.filter(pk=record.pk).update(
            outcome=ActionOutcomeKind.FAILED,
            message="The portal failed while running this action; check the audit log and "
            "the object before trying again.",
            finished_at=timezone.now(),
        )
        raise
    record.outcome = outcome.kind
    record.message = outcome.message
    record.finished_at = timezone.now()
    record.save(update_fields=["outcome", "message", "finished_at"])
    action_audit(
        request=request,
        customer=customer,
        action=action,
        object_id=object_id,
        outcome=outcome,
        extra={"key": str(key), **(audit_extra or {})},
    )
    return Click(outcome=outcome)


def action_audit(
    *,
    customer: Customer,
    action: Action,
    object_id: str,
    outcome: Outcome,
    request: HttpRequest | None = None,
    user: User | None = None,
    actor: str = "",
    extra: dict[str, Any] | None = None,
) -> None:
    """The audit row of one action on one object (never the password of a reset)."""
    audit_record(
        action=f"customer.action.{action.name}",
        request=request,
        user=user,
        actor=actor,
        region=customer.region.slug,
        tenant_id=str(customer.tenant_id),
        detail={
            "target": str(action.target),
            "object_id": object_id,
            "object_name": outcome.name,
            "before": outcome.before,
            "after": outcome.after,
            "result": str(outcome.kind),
            "message": outcome.message,
            **(extra or {}),
        },
    )


def _replay(
    key: uuid.UUID, user: User, customer: Customer, action: Action, object_id: str
) -> ActionRecord:
    deadline = time.monotonic() + REPLAY_WAIT_SECONDS
    while True:
        record = ActionRecord.objects.get(key=key)
        same = (
            record.user_id == user.pk
            and record.customer_id == customer.pk
            and record.action == action.name
            and record.object_id == object_id
        )
        if not same:
            raise FormKeyInvalid()
        if record.outcome != ActionOutcomeKind.PENDING or time.monotonic() >= deadline:
            return record
        time.sleep(0.2)


def action_records_prune(*, days: int = RECORD_DAYS) -> int:
    """Forget the keys of action forms older than `days` (the audit log keeps the actions)."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = ActionRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
