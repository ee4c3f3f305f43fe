"""Search across customers in a real browser: the index's rows are there at once, the
customers asked live stream in after (a progress line while they are asked), then the page
says it is done; at a phone's width too."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from customers.services import customers_sync, sync_run_start
from search.index import index_refresh

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AGENT = "agent@contosopartners.com"


def test_index_results_show_at_once_and_live_customers_stream_in_after(
    page, live_server, regions, sim, browser_sign_in, shot
):
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)
    index_refresh(region_id=regions["us"].pk)
    dap = Customer.objects.get(region=regions["us"], relationship_type="dap")
    # The DAP customer (asked live) answers slowly: its rows come after the index's.
    sim.faults(tenant=str(dap.tenant_id), latency_ms=1500)
    browser_sign_in(page, AGENT)
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{live_server.url}/search/?q=ade")

    hits = page.locator("[data-testid=search-hit]")
    expect(page.locator("[data-testid=search-hit][data-source=index]").first).to_be_visible()
    expect(page.locator("[data-testid=live-pending]")).to_be_visible()
    assert page.locator("[data-testid=search-hit][data-source=live]").count() == 0
    shot(page, "search-streaming")
    expect(page.locator("[data-testid=live-done]")).to_be_visible(timeout=20_000)
    live = page.locator(
        f"[data-testid=search-hit][data-source=live][data-tenant='{dap.tenant_id}']"
    )
    expect(live.first).to_be_visible()
    assert hits.count() > live.count()
    shot(page, "search-done")
    sim.faults(tenant=str(dap.tenant_id), latency_ms=0)

    live.first.locator("a").first.click()
    page.wait_for_url(f"{live_server.url}/customers/{dap.tenant_id}/users/**")
