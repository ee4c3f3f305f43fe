"""Compliance fixtures: recorded sweeps and stored customers without Microsoft, for dashboard,
export and bookkeeping tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import pytest
from django.utils import timezone

from compliance.collect import Outcome
from compliance.models import ComplianceSweep
from compliance.services import snapshots_record, trend_record
from compliance.tally import Tally
from customers.models import Customer, RelationshipStatus
from regions.models import Region
from tests.factories import chunk_claimed, customer_make


def tally_of(**states: int) -> Tally:
    """A Tally with these complianceState counts, all on Windows, none stale."""
    tally = Tally()
    for state, count in states.items():
        tally.states[state] += count
        tally.systems["Windows"] += count
        tally.total += count
    return tally


@pytest.fixture
def record_sweep() -> Callable[..., ComplianceSweep]:
    """Store a finished sweep: {customer: Tally or error message} at `at` (default now)."""

    def _record(
        results: dict[Customer, Tally | str] | Iterable[tuple[Customer, Tally | str]],
        at: datetime | None = None,
    ) -> ComplianceSweep:
        at = at or timezone.now()
        items = list(results.items() if isinstance(results, dict) else results)
        sweep = ComplianceSweep.objects.create(
            status=ComplianceSweep.Status.RUNNING, started_at=at, total=len(items)
        )
        outcomes = [
            Outcome(
                customer_id=c.pk,
                region_id=c.region_id,
                taken_at=at,
                tally=r if isinstance(r, Tally) else None,
                error_kind="" if isinstance(r, Tally) else "forbidden",
                error="" if isinstance(r, Tally) else r,
            )
            for c, r in items
        ]
        snapshots_record(chunk=chunk_claimed(sweep), outcomes=outcomes)
        trend_record(sweep=sweep)
        sweep.status, sweep.finished_at = ComplianceSweep.Status.DONE, at
        sweep.save()
        return sweep

    return _record


@pytest.fixture
def stored_customers(own_region: Region, other_region: Region) -> dict[str, list[Customer]]:
    """Customers as a sync leaves them, like the simulator's but from the factories: in "us"
    two active and one whose relationship expired, in "eu" one active."""
    return {
        "us": [
            customer_make(region=own_region),
            customer_make(region=own_region),
            customer_make(region=own_region, relationship_status=RelationshipStatus.EXPIRED),
        ],
        "eu": [customer_make(region=other_region)],
    }
