"""The SDK sweep of bench/bench_sdk.py reads what our collector reads, so the benchmark cannot
time a broken SDK path (a failed token, an empty page, a lost policy state)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone

from bench.sdk_sweep import App, sdk_sweep
from compliance.collect import devices_read_many
from compliance.services import sweep_targets
from tests.sdkgraph import SDK_WARNINGS

pytestmark = [pytest.mark.django_db, *SDK_WARNINGS]
PAGE = 15  # the session simulator's tenants hold 40 devices: three pages each


def test_the_sdk_sweep_reads_the_same_devices_and_policies_as_our_collector(
    sim, world, customers, settings
):
    settings.COMPLIANCE_PAGE_SIZE = PAGE
    region = next(r for r in world["regions"] if r["slug"] == "us")
    app = App(region["app"]["client_id"], region["app"]["client_secret"])
    # Every customer of the region: consented, not consented, DAP, expired (both sides fail the
    # same ones).
    picked = [c["tenant_id"] for c in region["customers"]]
    ours = {
        o.customer_id: o
        for o in devices_read_many(
            targets=[t for t in sweep_targets() if t.tenant_id in picked],
            stale_before=timezone.now() - timedelta(days=30),
            concurrency=4,
        )
    }
    ours_by_tenant = {str(c.tenant_id): ours[c.pk] for c in customers["us"] if c.pk in ours}
    # Its own thread: a test's event loop (Playwright's, in a full run) may hold this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        sdk = pool.submit(
            sdk_sweep,
            targets=[(t, app) for t in picked],
            authority=sim.base_url,
            graph_base=world["endpoints"]["graph"],
            ca=sim.ca,
            concurrency=4,
            page_size=PAGE,
        ).result()

    assert len(sdk) == len(picked) == len(ours_by_tenant)
    read = 0
    for outcome in sdk:
        mine = ours_by_tenant[outcome.tenant_id]
        assert outcome.ok == mine.ok, (outcome.error, mine.error)
        if not outcome.ok:
            continue
        read += 1
        assert outcome.total == mine.tally.total
        assert outcome.states == +mine.tally.states
        assert outcome.systems == +mine.tally.systems
        assert outcome.policies == mine.policies
    assert read >= 2 and sum(len(o.policies) for o in sdk) > 0
