"""The index follows the customer sync: the sync's signal queues a refresh, which the real
Celery worker runs."""

from __future__ import annotations

import time

import pytest

from customers.services import customers_sync, sync_run_start
from search.index import index_refresh_running
from search.models import IndexedTenant, IndexedUser
from search.tasks import search_index_refresh


@pytest.mark.django_db
def test_a_finished_customer_sync_queues_a_refresh_of_its_regions_index(
    regions, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.SEARCH_INDEX_AFTER_SYNC = True
    queued: list[int] = []
    monkeypatch.setattr(search_index_refresh, "delay", queued.append)  # the broker, not Microsoft
    run, _ = sync_run_start(region=regions["us"])

    with django_capture_on_commit_callbacks(execute=True):
        customers_sync(run_id=run.pk)

    assert queued == [regions["us"].pk]


@pytest.mark.django_db(transaction=True)
def test_the_worker_refreshes_a_regions_search_index(celery_worker_process, regions):
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)

    search_index_refresh.delay(regions["us"].pk)  # results are not kept: watch the rows

    deadline = time.monotonic() + 90
    indexed = IndexedTenant.objects.filter(customer__region=regions["us"])
    while time.monotonic() < deadline:
        # Rows written and the region's lock free again: the worker's refresh is over.
        if indexed.exists() and not index_refresh_running(region_id=regions["us"].pk):
            break
        time.sleep(0.2)
    assert indexed.exists() and not index_refresh_running(region_id=regions["us"].pk)
    assert not indexed.exclude(status="ok").exists()
    assert IndexedUser.objects.filter(customer__region=regions["us"]).count() == sum(
        t.user_count for t in indexed
    )
    assert not IndexedTenant.objects.exclude(customer__region=regions["us"]).exists()
