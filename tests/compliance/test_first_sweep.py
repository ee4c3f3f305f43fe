"""A region's first customer sync queues its first compliance sweep, once."""

from __future__ import annotations

import pytest

from compliance.models import ComplianceSweep
from customers.services import customers_sync, sync_run_start

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def first_sweep_on(settings):
    settings.COMPLIANCE_FIRST_SWEEP = True


def _sync(region, capture) -> None:
    with capture(execute=True):
        run, _ = sync_run_start(region=region)
        customers_sync(run_id=run.pk)


def test_the_first_sync_of_a_region_queues_its_first_sweep_and_a_second_sync_none(
    regions, django_capture_on_commit_callbacks
):
    _sync(regions["us"], django_capture_on_commit_callbacks)

    [sweep] = ComplianceSweep.objects.all()
    assert sweep.region == regions["us"] and sweep.requested_by == "first customer sync"
    assert sweep.status == ComplianceSweep.Status.QUEUED

    _sync(regions["us"], django_capture_on_commit_callbacks)
    assert ComplianceSweep.objects.count() == 1
    _sync(regions["eu"], django_capture_on_commit_callbacks)
    assert set(ComplianceSweep.objects.values_list("region__slug", flat=True)) == {"us", "eu"}


def test_a_region_that_was_swept_before_gets_no_extra_sweep(
    regions, django_capture_on_commit_callbacks
):
    ComplianceSweep.objects.create(
        region=regions["us"],
        scope=ComplianceSweep.scope_for(regions["us"].pk),
        status=ComplianceSweep.Status.DONE,
    )
    _sync(regions["us"], django_capture_on_commit_callbacks)
    assert ComplianceSweep.objects.filter(region=regions["us"]).count() == 1


def test_it_is_off_when_the_setting_says_so(regions, django_capture_on_commit_callbacks, settings):
    settings.COMPLIANCE_FIRST_SWEEP = False
    _sync(regions["us"], django_capture_on_commit_callbacks)
    assert not ComplianceSweep.objects.exists()
