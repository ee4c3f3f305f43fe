"""Alert fixtures: stored sweeps without Microsoft, for the rules' database-only tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from compliance.collect import Outcome
from compliance.models import ComplianceSweep
from compliance.services import snapshots_record
from compliance.tally import Tally
from customers.models import Customer
from tests.alerts.support import Receiver
from tests.factories import chunk_claimed, user_make


def tally_of(compliant: int, noncompliant: int) -> Tally:
    tally = Tally()
    tally.states["compliant"] += compliant
    tally.states["noncompliant"] += noncompliant
    tally.systems["Windows"] += compliant + noncompliant
    tally.total += compliant + noncompliant
    return tally


@pytest.fixture
def record_sweep() -> Callable[..., ComplianceSweep]:
    """Store a finished sweep of `customer`: a rate in percent (of 100 devices) or an error."""
    clock = {"at": timezone.now() - timedelta(days=1)}

    def _record(customer: Customer, result: int | str, at: datetime | None = None):
        clock["at"] = at or clock["at"] + timedelta(hours=4)
        sweep = ComplianceSweep.objects.create(
            region=customer.region,
            scope=f"test-{clock['at'].timestamp()}",
            status=ComplianceSweep.Status.RUNNING,
            started_at=clock["at"],
        )
        ok = isinstance(result, int)
        outcome = Outcome(
            customer_id=customer.pk,
            region_id=customer.region_id,
            taken_at=clock["at"],
            tally=tally_of(result, 100 - result) if ok else None,
            error_kind="" if ok else "forbidden",
            error="" if ok else result,
        )
        snapshots_record(chunk=chunk_claimed(sweep), outcomes=[outcome])
        sweep.status, sweep.finished_at = ComplianceSweep.Status.DONE, clock["at"]
        sweep.save()
        return sweep

    return _record


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def own_admin(own_region):
    return user_make(region=own_region, role=Role.ADMIN)


@pytest.fixture
def other_admin(other_region):
    return user_make(region=other_region, role=Role.ADMIN)
