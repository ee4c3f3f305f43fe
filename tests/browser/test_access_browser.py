"""An agent without an Intune role opens "My access" on a customer in a real browser."""

from __future__ import annotations

import pytest

from customers.services import customers_sync, sync_run_start

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_sees_its_groups_roles_and_the_missing_intune_role(
    page, live_server, regions, world, browser_sign_in, shot
):
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)
    us = next(r for r in world["regions"] if r["slug"] == "us")
    l1 = next(a["username"] for a in world["agents"] if a["username"].startswith("l1@"))
    group = next(g for g in us["groups"] if l1 in g["members"])
    tenant = next(iter(group["roles_by_customer"]))
    browser_sign_in(page, l1)

    page.goto(f"{live_server.url}/customers/{tenant}/")
    page.click("text=My access")
    page.wait_for_selector("[data-testid=access-pages]")

    assert group["name"] in page.get_by_test_id("access-groups").inner_text()
    intune = page.locator("tr[data-page=managed-devices]").inner_text()
    assert "Not allowed" in intune and "Intune Administrator" in intune
    assert "Allowed" in page.locator("tr[data-page=users]").inner_text()
    shot(page, "customer-access-l1")
