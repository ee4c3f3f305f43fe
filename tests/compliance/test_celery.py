"""The sweep through a real Celery worker (Redis broker, test database, the simulator)."""

from __future__ import annotations

import time

import pytest

from compliance.models import ComplianceSnapshot, ComplianceSweep
from compliance.services import sweep_start
from compliance.tasks import compliance_sweep_run, compliance_sweep_scheduled

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def _wait_finished(timeout: float = 90) -> list[ComplianceSweep]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sweeps = list(ComplianceSweep.objects.all())
        if sweeps and all(s.finished for s in sweeps):
            return sweeps
        time.sleep(0.25)
    raise AssertionError(
        f"no finished sweep after {timeout} s: {list(ComplianceSweep.objects.all())}"
    )


def test_the_scheduled_sweep_runs_one_sweep_per_region_in_the_worker_covering_every_customer(
    celery_worker_process, world, customers, regions
):
    compliance_sweep_scheduled.delay()
    sweeps = _wait_finished()
    # One sweep per region: a region's managers see their own sweep's progress only.
    assert sorted(s.region.slug for s in sweeps) == sorted(regions)
    for sweep in sweeps:
        assert sweep.status == "done", sweep.error
        slug = sweep.region.slug
        mine = ComplianceSnapshot.objects.filter(sweep=sweep)
        assert mine.count() == len(customers[slug])
        assert not mine.exclude(customer__region=sweep.region).exists()
        spec = next(r for r in world["regions"] if r["slug"] == slug)
        expired = sum(1 for c in spec["customers"] if c["relationship"]["status"] != "active")
        assert sweep.failed == expired
        assert sweep.requested_by == "schedule"


def test_a_sweep_task_delivered_twice_runs_once(celery_worker_process, customers):
    sweep, _ = sweep_start(requested_by="test")
    compliance_sweep_run.delay(sweep.pk)
    compliance_sweep_run.delay(sweep.pk)
    (done,) = _wait_finished()
    assert done.pk == sweep.pk and done.status == "done"
    everyone = sum(len(v) for v in customers.values())
    assert ComplianceSnapshot.objects.filter(sweep=done).count() == everyone
