"""The compliance tables in Chromium (issue 16): sorting by a header click and the column
chooser on the noncompliant devices, and a sweep that finishes refreshing the dashboard by
itself, with a status message, no Reload click needed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.models import NoncompliantDevice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MANAGER = "manager@contosopartners.com"


def _devices(customers) -> None:
    now = timezone.now()
    customer = customers["us"][0]
    for i, name in enumerate(["BRAVO", "ALPHA", "CHARLIE"]):
        NoncompliantDevice.objects.create(
            customer=customer,
            device_id=f"00000000-0000-4000-8000-00000000000{i}",
            device_name=name,
            user_principal_name=f"{name.lower()}@contoso.example",
            operating_system="Windows",
            since=now - timedelta(days=10 - i),
            seen_at=now,
        )


def _names(page) -> list[str]:
    table = page.get_by_test_id("noncompliant-table")
    return table.locator("tbody tr td[class~=fw-semibold]").all_inner_texts()


def test_a_manager_sorts_noncompliant_devices_and_chooses_their_columns(
    page, live_server, regions, customers, browser_sign_in, shot
):
    _devices(customers)
    browser_sign_in(page, MANAGER)
    page.goto(f"{live_server.url}/compliance/noncompliant/?os=Windows")
    assert _names(page) == ["BRAVO", "ALPHA", "CHARLIE"]  # longest noncompliant first

    page.get_by_test_id("sort-device").click()
    page.wait_for_url("**sort=device&dir=asc")
    assert "os=Windows" in page.url and "region=us" in page.url  # the filters stay
    assert _names(page) == ["ALPHA", "BRAVO", "CHARLIE"]
    assert page.locator("th[data-column=device]").get_attribute("aria-sort") == "ascending"
    page.get_by_test_id("sort-device").click()
    page.wait_for_url("**sort=device&dir=desc")
    assert _names(page) == ["CHARLIE", "BRAVO", "ALPHA"]

    page.get_by_test_id("column-chooser").locator("summary").click()
    page.get_by_test_id("column-user").uncheck()
    page.get_by_test_id("column-region").check()
    page.get_by_test_id("columns-save").click()
    page.wait_for_url("**sort=device&dir=desc")  # back to the same view
    shown = page.locator("[data-testid=noncompliant-table] thead th").evaluate_all(
        "ths => ths.map(th => th.dataset.column)"
    )
    assert "user" not in shown and "region" in shown and "device" in shown
    assert _names(page) == ["CHARLIE", "BRAVO", "ALPHA"]
    shot(page, "compliance-noncompliant-sorted")


def test_a_finished_sweep_refreshes_the_dashboard_without_a_reload(
    page, live_server, regions, customers, browser_sign_in, shot, celery_worker_process
):
    browser_sign_in(page, MANAGER)
    csp: list[str] = []
    page.on(
        "console",
        lambda msg: csp.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(f"{live_server.url}/compliance/?region=us")
    assert page.get_by_test_id("total-swept").inner_text() == "0"
    # A full-page screenshot leaves style="" on inputs, as a script could: the refresh must
    # not copy such attributes onto new elements (htmx does, for elements with an id).
    shot(page, "compliance-before-sweep")
    page.evaluate("window.__same_page = true")  # gone if the page were loaded again

    page.get_by_test_id("sweep-button").click()
    toast = page.get_by_test_id("sweep-announce").get_by_test_id("sweep-toast")
    toast.wait_for(timeout=60_000)
    assert page.get_by_test_id("sweep-announce").get_attribute("role") == "status"
    assert toast.inner_text().startswith("Sweep finished: ")
    # The cards and the tables re-fetched themselves: data now, on the same page.
    page.wait_for_function(
        "document.querySelector('[data-testid=total-swept]').textContent !== '0'"
    )
    assert page.evaluate("window.__same_page") is True
    assert "relationship" in page.get_by_test_id("problem-table").inner_text()
    reload = page.get_by_test_id("sweep-reload")  # the fallback without JavaScript
    assert reload.get_attribute("href") == "/compliance/?region=us"
    shot(page, "compliance-sweep-finished")
    assert csp == []
