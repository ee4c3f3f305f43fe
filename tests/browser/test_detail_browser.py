"""An agent walks from the users table to a user's page and back in a real browser; the page
fits a phone's width."""

from __future__ import annotations

import pytest

from customers.services import customers_sync, sync_run_start

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AGENT = "agent@contosopartners.com"


def _tenant(world) -> str:
    us = next(r for r in world["regions"] if r["slug"] == "us")
    return next(
        c["tenant_id"]
        for c in us["customers"]
        if c["relationship"]["type"] == "gdap"
        and c["relationship"]["status"] == "active"
        and not c.get("big")
    )


def test_an_agent_opens_a_user_from_the_table_sees_the_actions_and_goes_back(
    page, live_server, regions, world, browser_sign_in, shot
):
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)
    tenant = _tenant(world)
    browser_sign_in(page, AGENT)
    page.goto(f"{live_server.url}/customers/{tenant}/users/")

    link = page.get_by_test_id("user-link").first
    upn = link.inner_text()
    link.click()
    page.wait_for_selector("[data-testid=actions-panel]")

    assert page.get_by_test_id("user-upn").inner_text() == upn
    block = page.locator("[data-action=block-sign-in]")
    assert block.locator("button").is_disabled()
    assert "needs the Manager role" in block.inner_text()
    shot(page, "customer-user-detail")
    page.get_by_test_id("back-to-users").click()
    page.wait_for_selector("[data-testid=user-table]")
    assert page.url.rstrip("/").endswith(f"/customers/{tenant}/users")


def test_a_user_page_renders_on_a_phone_without_horizontal_scrolling(
    chromium, live_server, regions, world, browser_sign_in, shot
):
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)
    tenant = _tenant(world)
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        browser_sign_in(page, AGENT)
        page.goto(f"{live_server.url}/customers/{tenant}/users/")
        page.get_by_test_id("user-link").first.click()
        page.wait_for_selector("[data-testid=actions-panel]")

        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        shot(page, "customer-user-detail-phone")
    finally:
        context.close()
