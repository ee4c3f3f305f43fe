"""Evaluate the rules when a customer sync or a compliance sweep finishes."""

from __future__ import annotations

from typing import Any

from alerts.services import alerts_evaluate_safely
from compliance.signals import sweep_finished
from customers.signals import sync_finished
from regions.models import Region


def _after_sync(sender: Any, *, region_id: int, **kwargs: Any) -> None:
    alerts_evaluate_safely(region_id=region_id)


def _after_sweep(sender: Any, *, region_id: int | None, **kwargs: Any) -> None:
    # A sweep of every region (region_id None) evaluates each region on its own: a rule only
    # ever reads and writes the rows of the region it is given.
    ids = (
        [region_id]
        if region_id
        else Region.objects.filter(active=True).values_list("pk", flat=True)
    )
    for pk in ids:
        alerts_evaluate_safely(region_id=pk)


def connect() -> None:
    sync_finished.connect(_after_sync, dispatch_uid="alerts-after-sync")
    sweep_finished.connect(_after_sweep, dispatch_uid="alerts-after-sweep")
