"""Sweep bookkeeping without Microsoft: the lock, pointers, trend rows and pruning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.models import (
    ComplianceSnapshot,
    ComplianceSweep,
    ComplianceTrendPoint,
    CustomerCompliance,
)
from compliance.services import snapshots_prune, sweep_claim, sweep_start, sweeps_abandoned
from tests.compliance.conftest import tally_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(stored_customers):
    """Stored rows, not the simulator's: nothing in this module asks Microsoft."""
    return stored_customers


def test_a_second_start_joins_the_unfinished_sweep_instead_of_queueing_another():
    first, created = sweep_start(requested_by="a")
    again, created_again = sweep_start(requested_by="b")
    assert created and not created_again
    assert again.pk == first.pk
    assert ComplianceSweep.objects.count() == 1


def test_a_new_sweep_can_start_once_the_previous_one_finished():
    first, _ = sweep_start()
    first.status = ComplianceSweep.Status.DONE
    first.save()
    second, created = sweep_start()
    assert created and second.pk != first.pk


def test_a_sweep_whose_worker_died_is_taken_over_not_started_again(settings):
    settings.COMPLIANCE_SWEEP_LEASE_SECONDS = 60
    old, _ = sweep_start()
    ComplianceSweep.objects.filter(pk=old.pk).update(
        status="running", attempts=1, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    again, created = sweep_start()
    assert not created and again.pk == old.pk
    assert sweeps_abandoned() == [old.pk]
    claimed = sweep_claim(sweep_id=old.pk)
    assert claimed is not None and claimed.attempts == 2 and claimed.lease_owner
    assert sweeps_abandoned() == []
    assert sweep_claim(sweep_id=old.pk) is None  # its lease is fresh: nobody else may take it


def test_a_sweep_interrupted_too_often_is_given_up_and_says_why(settings):
    settings.COMPLIANCE_SWEEP_MAX_ATTEMPTS = 3
    old, _ = sweep_start()
    ComplianceSweep.objects.filter(pk=old.pk).update(
        status="running", attempts=3, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert sweep_claim(sweep_id=old.pk) is None
    old.refresh_from_db()
    assert old.status == "failed"
    assert "interrupted 3 times" in old.error and "start a new one" in old.error
    new, created = sweep_start()
    assert created and new.pk != old.pk


def test_a_queued_sweep_whose_message_was_lost_is_sent_again(settings):
    settings.COMPLIANCE_SWEEP_LEASE_SECONDS = 60
    sweep, _ = sweep_start()
    assert sweeps_abandoned() == []
    ComplianceSweep.objects.filter(pk=sweep.pk).update(
        created_at=timezone.now() - timedelta(minutes=2)
    )
    assert sweeps_abandoned() == [sweep.pk]


def test_a_failure_moves_the_latest_pointer_but_keeps_the_last_good_data(customers, record_sweep):
    customer = customers["us"][0]
    good = record_sweep({customer: tally_of(compliant=3, noncompliant=1)})
    record_sweep({customer: "Microsoft Graph refused access."})
    pointers = CustomerCompliance.objects.get(customer=customer)
    assert pointers.last_snapshot.ok is False
    assert pointers.last_good_snapshot.sweep_id == good.pk
    assert pointers.last_good_snapshot.compliance_rate == 0.75


def test_each_sweep_leaves_one_trend_row_per_region(customers, record_sweep):
    us, eu = customers["us"][:2], customers["eu"][:1]
    sweep = record_sweep(
        {us[0]: tally_of(compliant=8, noncompliant=2), us[1]: "no", eu[0]: tally_of(compliant=5)}
    )
    rows = {p.region.slug: p for p in ComplianceTrendPoint.objects.filter(sweep=sweep)}
    assert rows["us"].customers == 2 and rows["us"].customers_failed == 1
    assert rows["us"].devices == 10 and rows["us"].compliant == 8
    assert rows["eu"].devices == 5


def test_pruning_deletes_what_is_older_than_the_retention_and_keeps_the_rest(
    customers, record_sweep
):
    customer = customers["us"][0]
    old = record_sweep({customer: tally_of(compliant=1)}, at=timezone.now() - timedelta(days=100))
    ComplianceSweep.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=100)
    )
    recent = record_sweep({customer: tally_of(compliant=2)})
    assert snapshots_prune(days=90) == 1
    assert not ComplianceSweep.objects.filter(pk=old.pk).exists()
    assert ComplianceSnapshot.objects.filter(sweep=recent).count() == 1
    assert (
        CustomerCompliance.objects.get(customer=customer).last_good_snapshot.sweep_id == recent.pk
    )


def test_customers_without_a_relationship_are_neither_swept_nor_reported(customers):
    from compliance.selectors import swept_customers
    from compliance.services import sweep_targets

    gone = customers["us"][0]
    gone.relationship_status = "terminated"
    gone.save()
    assert gone.pk not in {t.customer_id for t in sweep_targets()}
    assert not swept_customers().filter(pk=gone.pk).exists()
    expired = [
        c for group in customers.values() for c in group if c.relationship_status == "expired"
    ]
    assert expired and all(swept_customers().filter(pk=c.pk).exists() for c in expired)
