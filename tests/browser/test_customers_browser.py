"""An agent's daily path in a real browser: find a customer, open it, page users, filter devices."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_finds_a_customer_pages_its_users_and_filters_intune_devices(
    page, live_server, regions, customers, browser_sign_in, shot
):
    customer = next(
        c for c in customers["us"] if c.relationship_status == "active" and "'" not in c.name
    )
    browser_sign_in(page, "agent@contosopartners.com")

    page.fill("input[name=q]", customer.name.split()[0])
    page.click("form[role=search] button")
    page.wait_for_load_state("networkidle")
    assert customer.name in page.get_by_test_id("customer-table").inner_text()
    shot(page, "customers-search")

    page.click(f"text={customer.name}")
    page.wait_for_selector("[data-testid=verified-domains]")
    assert page.get_by_test_id("customer-name").inner_text() == customer.name
    assert customer.default_domain in page.get_by_test_id("verified-domains").inner_text()
    shot(page, "customer-overview")

    page.click("text=Users")
    page.wait_for_selector("[data-testid=user-table]")
    first_page = page.get_by_test_id("user-table").inner_text()
    page.get_by_test_id("next-page").click()
    page.wait_for_load_state("networkidle")
    assert "page=" in page.url
    second_page = page.get_by_test_id("user-table").inner_text()
    assert second_page != first_page
    shot(page, "customer-users-page-2")

    page.click("text=Intune devices")
    page.select_option("select[name=compliance]", "noncompliant")
    page.click("[data-testid=managed-filter] button")
    page.wait_for_load_state("networkidle")
    assert "compliance=noncompliant" in page.url
    rows = page.get_by_test_id("managed-table").locator("tbody tr")
    assert rows.count() > 0
    for i in range(rows.count()):
        assert "Noncompliant" in rows.nth(i).inner_text()
    shot(page, "customer-managed-devices-noncompliant")
