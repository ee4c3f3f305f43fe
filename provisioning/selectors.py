"""Reads about provisioning runs, shaped for the status partial."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from customers.models import Customer
from provisioning.models import Provisioning

Status = Provisioning.Status


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # "done" | "active" | "todo" | "failed"


@dataclass(frozen=True)
class ProvisioningView:
    run: Provisioning
    seconds_left: int | None  # until the next attempt, while one is scheduled
    steps: list[Step]

    @property
    def polling(self) -> bool:
        return not self.run.finished


_LABELS = ("Waiting for the partner relationship", "App consent", "First calls", "Ready")
_STEP_STATES = {
    Status.WAITING: ("active", "todo", "todo", "todo"),
    Status.NEEDS_CONSENT: ("done", "active", "todo", "todo"),
    Status.RUNNING: ("done", "done", "active", "todo"),
    Status.RETRYING: ("done", "done", "active", "todo"),
    Status.READY: ("done", "done", "done", "done"),
    Status.FAILED: ("done", "done", "failed", "todo"),
}


def provisioning_latest(*, customer: Customer) -> Provisioning | None:
    return customer.provisionings.first()


def provisioning_view(*, customer: Customer) -> ProvisioningView | None:
    """The customer's latest run with its countdown and steps, or None if it never had one."""
    run = provisioning_latest(customer=customer)
    if run is None:
        return None
    seconds_left = None
    if (
        run.status in (Status.WAITING, Status.RETRYING, Status.NEEDS_CONSENT)
        and run.next_attempt_at
    ):
        seconds_left = max(0, math.ceil((run.next_attempt_at - timezone.now()).total_seconds()))
    first = "Customer created" if run.kind == Provisioning.Kind.CREATED else "Invitation accepted"
    states = _STEP_STATES[Status(run.status)]
    pairs = zip(_LABELS, states, strict=True)
    steps = [Step(first, "done")] + [Step(label, state) for label, state in pairs]
    return ProvisioningView(run=run, seconds_left=seconds_left, steps=steps)


def provisioning_invitation_awaiting(*, customer: Customer) -> bool:
    """The customer has a partner invitation awaiting their approval, as the last sync read it:
    the only time "The customer accepted our invitation" means anything."""
    return customer.gdap_relationships.filter(status="approvalPending").exists()


def provisioning_wait_text() -> str:
    """The initial wait before the first calls, in words ("3 minutes")."""
    seconds = settings.PROVISIONING_WAIT_SECONDS
    if seconds >= 60 and seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def provisioning_status_context(*, customer: Customer) -> dict[str, object]:
    """What the status partial needs, wherever it is rendered."""
    return {
        "customer": customer,
        "view": provisioning_view(customer=customer),
        "awaiting_approval": provisioning_invitation_awaiting(customer=customer),
        "wait_text": provisioning_wait_text(),
    }
