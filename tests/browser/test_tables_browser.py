"""The list tables in Chromium: a header click sorts (and says so to screen readers), the column
chooser works with the keyboard and is remembered, Export CSV downloads the view; the colour
theme follows the system and the switch; a customer without devices shows an empty state."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AGENT = "agent@contosopartners.com"


def _column_texts(page, table: str, column: str) -> list[str]:
    """The cells of one column, found by the header's data-column (columns can be hidden)."""
    return page.evaluate(
        """([table, column]) => {
          const t = document.querySelector(`[data-testid=${table}]`);
          const heads = Array.from(t.querySelectorAll("thead th"));
          const at = heads.findIndex((th) => th.dataset.column === column);
          return Array.from(t.querySelectorAll("tbody tr")).map(
            (tr) => tr.children[at]?.innerText.trim() ?? "");
        }""",
        [table, column],
    )


def _eventually(page, expression: str, wanted: object = None, seconds: float = 3.0) -> object:
    """`expression`'s value once it is `wanted` (or truthy), polled: the page's CSP forbids
    the eval behind Playwright's wait_for_function."""
    deadline = time.monotonic() + seconds
    while True:
        value = page.evaluate(expression)
        if (value == wanted if wanted is not None else value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def _csv_of(download) -> list[list[str]]:
    raw = Path(download.path()).read_bytes()
    assert raw.startswith("\ufeff".encode()), "a BOM, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_customers_table_sorts_on_a_header_click_and_exports_what_it_shows(
    page, live_server, customers, browser_sign_in, shot
):
    browser_sign_in(page, AGENT)
    page.goto(f"{live_server.url}/customers/")
    names = _column_texts(page, "customer-table", "name")
    assert names == sorted(names, key=str.lower)
    header = page.locator("th[data-column=name]")
    assert header.get_attribute("aria-sort") == "ascending"

    page.get_by_test_id("sort-name").click()
    page.wait_for_load_state("networkidle")
    assert "dir=desc" in page.url
    assert page.locator("th[data-column=name]").get_attribute("aria-sort") == "descending"
    backwards = _column_texts(page, "customer-table", "name")
    assert backwards == sorted(names, key=str.lower, reverse=True)

    page.get_by_test_id("sort-domain").click()
    page.wait_for_load_state("networkidle")
    domains = _column_texts(page, "customer-table", "domain")
    assert domains == sorted(domains, key=str.lower)
    shot(page, "tables-customers-by-domain")

    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    rows = _csv_of(info.value)
    assert rows[0][:2] == ["Name", "Default domain"]
    assert [r[1] for r in rows[1:]] == domains


def test_the_column_chooser_works_with_the_keyboard_and_is_remembered(
    page, live_server, customers, browser_sign_in
):
    browser_sign_in(page, AGENT)
    page.goto(f"{live_server.url}/customers/")
    assert page.locator("th[data-column=synced]").count() == 0
    summary = page.locator("[data-testid=column-chooser] summary")
    summary.focus()
    page.keyboard.press("Enter")
    chooser = page.get_by_test_id("column-form")
    assert chooser.is_visible()
    # Opening moves the focus into the chooser; the required Name column is not a stop.
    assert _eventually(page, "document.activeElement?.dataset.testid") == "column-domain"
    page.keyboard.press("Escape")
    assert not chooser.is_visible()
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"

    page.keyboard.press("Enter")
    page.get_by_test_id("column-synced").focus()
    page.keyboard.press("Space")
    page.get_by_test_id("column-tenant").focus()
    page.keyboard.press("Space")
    page.get_by_test_id("columns-save").focus()
    # A key press does not wait for the navigation it starts (a click does): wait for the
    # saved page itself, or the old page's columns are read.
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.locator("th[data-column=synced]").count() == 1
    assert page.locator("th[data-column=tenant]").count() == 0

    page.reload()
    assert page.locator("th[data-column=synced]").count() == 1, "kept for the user"
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    header = _csv_of(info.value)[0]
    assert "Last synced" in header and "Tenant id" not in header


def test_the_users_table_sorts_pages_back_and_exports_in_chromium(
    page, live_server, customers, world, browser_sign_in, shot
):
    info = next(
        c
        for r in world["regions"]
        if r["slug"] == "us"
        for c in r["customers"]
        if c["relationship"]["status"] == "active" and not c.get("big") and c["users"] > 25
    )
    browser_sign_in(page, AGENT)
    page.goto(f"{live_server.url}/customers/{info['tenant_id']}/users/")
    page.get_by_test_id("sort-upn").click()
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("sort-upn").click()  # a second click: the other way round
    page.wait_for_load_state("networkidle")
    assert page.locator("th[data-column=upn]").get_attribute("aria-sort") == "descending"
    upns = _column_texts(page, "user-table", "upn")
    assert upns == sorted(upns, key=str.lower, reverse=True)
    assert page.get_by_test_id("position").inner_text().startswith("1\u201325 of ")

    page.get_by_test_id("next-page").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("position").inner_text().startswith("26\u2013")
    later = _column_texts(page, "user-table", "upn")
    assert later and later[0].lower() <= upns[-1].lower()
    shot(page, "tables-users-page-2")
    page.get_by_test_id("previous-page").click()
    page.wait_for_load_state("networkidle")
    assert _column_texts(page, "user-table", "upn") == upns

    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    rows = _csv_of(download.value)
    assert len(rows) - 1 == info["users"]
    assert [r[1] for r in rows[1:26]] == upns


def test_the_theme_follows_the_system_until_the_user_chooses_one(
    chromium, live_server, customers, browser_sign_in
):
    context = chromium.new_context(viewport={"width": 1360, "height": 860}, color_scheme="dark")
    page = context.new_page()
    try:
        browser_sign_in(page, AGENT)
        theme = "document.documentElement.dataset.bsTheme"
        assert page.evaluate(theme) == "dark", "auto follows prefers-color-scheme: dark"
        page.emulate_media(color_scheme="light")
        # and its changes, without a reload
        assert _eventually(page, theme, "light") == "light"
        background = "getComputedStyle(document.body).backgroundColor"
        light = page.evaluate(background)
        page.emulate_media(color_scheme="dark")
        assert _eventually(page, theme, "dark") == "dark"
        assert page.evaluate(background) != light

        page.get_by_test_id("theme-toggle").click()
        page.get_by_test_id("theme-light").click()
        page.wait_for_load_state("networkidle")
        assert page.evaluate(theme) == "light", "a chosen theme wins over the system's"
        page.goto(f"{live_server.url}/customers/")
        assert page.evaluate(theme) == "light"
        assert "Light" in page.get_by_test_id("theme-toggle").inner_text()
    finally:
        context.close()


@pytest.fixture
def deviceless(sim, world, customers):
    info = next(
        c
        for r in world["regions"]
        if r["slug"] == "us"
        for c in r["customers"]
        if c["relationship"]["status"] == "active" and not c.get("big")
    )
    sim.size(info["tenant_id"], devices=0)
    yield info
    sim.reset()


def test_a_customer_without_devices_shows_empty_states_in_chromium(
    page, live_server, deviceless, browser_sign_in, shot
):
    browser_sign_in(page, AGENT)
    base = f"{live_server.url}/customers/{deviceless['tenant_id']}"
    page.goto(f"{base}/devices/")
    assert page.get_by_test_id("empty-state").inner_text().strip() == "No devices."
    page.goto(f"{base}/managed-devices/")
    assert "No managed devices" in page.get_by_test_id("empty-state").inner_text()
    shot(page, "tables-no-managed-devices")
    answer = page.goto(f"{base}/compliance/")
    assert answer is not None and answer.status == 200


def test_a_refresh_that_finishes_quickly_says_so_and_updates_the_list_without_a_reload(
    page, live_server, customers, celery_worker_process, browser_sign_in, shot
):
    from customers.models import Customer

    browser_sign_in(page, AGENT)
    page.goto(f"{live_server.url}/customers/?sort=name&dir=desc")
    gone = Customer.objects.filter(region__slug="us").order_by("name").first()
    Customer.objects.filter(pk=gone.pk).delete()  # the next sync brings it back
    page.reload()
    assert gone.name not in page.get_by_test_id("customer-table").inner_text()
    # A mark on the window survives an htmx swap, not a reload; one on the table neither.
    page.evaluate("window.sameDocument = true")
    page.evaluate("document.querySelector('[data-testid=customer-table]').dataset.old = 'yes'")

    page.get_by_test_id("sync-button").click()
    toast = page.get_by_test_id("sync-toast")
    toast.wait_for(timeout=60_000)
    assert "Customers refreshed from Microsoft" in toast.inner_text()
    shot(page, "tables-sync-toast")
    table = page.get_by_test_id("customer-table")
    deadline = time.monotonic() + 10
    while gone.name not in table.inner_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone.name in table.inner_text(), "the list re-read itself"
    assert page.evaluate("window.sameDocument") is True, "no reload"
    assert (
        page.evaluate("document.querySelector('[data-testid=customer-table]').dataset.old") is None
    )
    assert page.url.endswith("/customers/?sort=name&dir=desc")
    names = _column_texts(page, "customer-table", "name")
    assert names == sorted(names, key=str.lower, reverse=True), "the page's sort kept"
    page.get_by_test_id("sync-toast").locator("[data-dismiss-toast]").click()
    assert page.get_by_test_id("sync-toast").count() == 0
