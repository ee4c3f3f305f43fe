"""The tenant switcher in a real browser: a shortcut focuses it, a few letters of a name find the
customer, arrow down and Enter open it on the tab the agent was on, at a phone's width too."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AGENT = "agent@contosopartners.com"


def _typed(customer: Any) -> str:
    return customer.name[:6]


def _two_customers(customers: dict[str, list[Any]]) -> tuple[Any, Any]:
    """Two active customers of region "us" whose first six letters match only them."""
    us = customers["us"]

    def unique(c: Any) -> bool:
        typed = _typed(c).lower()
        return not any(
            typed in o.name.lower() or typed in o.default_domain.lower() for o in us if o != c
        )

    return tuple([c for c in us if c.relationship_status == "active" and unique(c)][:2])


def _switch(page: Any, target: Any, shortcut: str) -> None:
    page.keyboard.press(shortcut)
    box = page.locator("#switcher-input")
    assert box.evaluate("el => el === document.activeElement")
    box.press_sequentially(_typed(target), delay=30)
    options = page.locator("[data-testid=switcher-option]")
    expect(options).to_have_count(1)
    option = options.first
    assert option.get_attribute("data-tenant") == str(target.tenant_id)
    assert box.get_attribute("aria-expanded") == "true"
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == option.get_attribute("id")
    assert option.get_attribute("aria-selected") == "true"
    box.press("Enter")


def test_an_agent_switches_customer_from_the_users_tab_with_the_keyboard_and_stays_on_users(
    page, live_server, customers, browser_sign_in, shot
):
    here, there = _two_customers(customers)
    browser_sign_in(page, AGENT)
    page.goto(f"{live_server.url}/customers/{here.tenant_id}/users/")
    page.wait_for_selector("[data-testid=customer-name]")

    _switch(page, there, "/")
    page.wait_for_url(f"{live_server.url}/customers/{there.tenant_id}/users/")
    assert page.get_by_test_id("customer-name").inner_text() == there.name
    shot(page, "switcher-landed")

    # Back with Ctrl+K: the customer opened before is offered first, marked recent.
    page.keyboard.press("Control+k")
    first = page.locator("[data-testid=switcher-option]").first
    first.wait_for()
    assert first.get_attribute("data-tenant") == str(there.tenant_id)
    box = page.locator("#switcher-input")
    assert box.get_attribute("aria-activedescendant") is None  # nothing chosen yet
    box.press("ArrowUp")  # up from the top wraps to the last one
    last = page.locator("[data-testid=switcher-option]").last
    assert box.get_attribute("aria-activedescendant") == last.get_attribute("id")
    box.press("ArrowDown")  # and down from the last back to the first
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    assert first.locator("[data-testid=switcher-recent]").count() == 1
    shot(page, "switcher-recent")
    page.keyboard.press("Escape")
    assert page.locator("#switcher-input").get_attribute("aria-expanded") == "false"
    assert page.locator("#switcher-listbox").is_hidden()


def test_from_a_users_detail_page_the_switch_lands_on_the_other_customers_users_list(
    page, live_server, customers, browser_sign_in
):
    here, there = _two_customers(customers)
    browser_sign_in(page, AGENT)
    page.goto(f"{live_server.url}/customers/{here.tenant_id}/users/")
    page.get_by_test_id("user-link").first.click()
    page.wait_for_selector("[data-testid=actions-panel]")

    _switch(page, there, "Control+k")
    page.wait_for_url(f"{live_server.url}/customers/{there.tenant_id}/users/")


def test_from_a_page_outside_customers_the_switch_opens_the_overview(
    page, live_server, customers, browser_sign_in
):
    _, there = _two_customers(customers)
    browser_sign_in(page, AGENT)
    page.goto(f"{live_server.url}/customers/")
    _switch(page, there, "/")
    page.wait_for_url(f"{live_server.url}/customers/{there.tenant_id}/")


def test_the_switcher_works_on_a_phone_in_dark_mode_without_horizontal_scrolling(
    chromium, live_server, customers, browser_sign_in, shot
):
    here, there = _two_customers(customers)
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        browser_sign_in(page, AGENT)
        page.goto(f"{live_server.url}/customers/{here.tenant_id}/groups/")
        page.evaluate("document.documentElement.setAttribute('data-bs-theme', 'dark')")
        box = page.locator("#switcher-input")
        assert box.is_visible()  # not folded away in the collapsed menu

        page.keyboard.press("/")
        box.press_sequentially(_typed(there), delay=30)
        listbox = page.locator("#switcher-listbox")
        expect(page.locator("[data-testid=switcher-option]")).to_have_count(1)
        bounds = listbox.bounding_box()
        assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= 390
        background = listbox.evaluate("el => getComputedStyle(el).backgroundColor")
        assert _dark(background), background
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        shot(page, "switcher-phone-dark")

        box.press("ArrowDown")
        box.press("Enter")
        page.wait_for_url(f"{live_server.url}/customers/{there.tenant_id}/groups/")
    finally:
        context.close()


def _dark(css_color: str) -> bool:
    red, green, blue = (int(v) for v in css_color[css_color.index("(") + 1 : -1].split(",")[:3])
    return red + green + blue < 3 * 96
