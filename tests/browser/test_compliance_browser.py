"""Managers' compliance dashboard in Chromium: charts drawn under the CSP, sweep now, progress."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.collect import Outcome
from compliance.models import ComplianceSweep
from compliance.services import snapshots_record, trend_record
from tests.compliance.conftest import tally_of
from tests.factories import chunk_claimed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MANAGER = "manager@contosopartners.com"


def _history(customers, days: int = 30) -> None:
    """A month of daily sweeps, so the trend chart has something to draw."""
    rng = random.Random(7)
    everyone = [c for group in customers.values() for c in group]
    now = timezone.now()
    for day in range(days, 0, -1):
        at = now - timedelta(days=day)
        sweep = ComplianceSweep.objects.create(status="running", started_at=at)
        outcomes = []
        for c in everyone:
            bad = rng.randint(1, 8) + (day // 5)
            tally = tally_of(
                compliant=40 - bad, noncompliant=bad - bad // 3, inGracePeriod=bad // 3
            )
            outcomes.append(Outcome(c.pk, c.region_id, at, tally=tally))
        snapshots_record(chunk=chunk_claimed(sweep), outcomes=outcomes)
        trend_record(sweep=sweep)
        sweep.status, sweep.finished_at = "done", at
        sweep.save()


def _watch_csp(page) -> list[str]:
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    return problems


def test_a_manager_sees_the_trend_chart_and_sweeps_now_with_a_progress_bar(
    page, live_server, regions, customers, browser_sign_in, shot, celery_worker_process
):
    _history(customers)
    csp = _watch_csp(page)
    browser_sign_in(page, MANAGER)
    # htmx injects its indicator <style> on every page (blocked, harmless): that is the
    # baseline; the compliance pages must not add a violation of their own.
    baseline = set(csp)
    page.get_by_test_id("nav-compliance").click()
    page.wait_for_url(f"{live_server.url}/compliance/")
    page.wait_for_selector("canvas#compliance-trend[data-drawn=true]")
    assert page.get_by_test_id("worst-table").locator("tbody tr").count() > 1
    assert "%" in page.get_by_test_id("total-rate").inner_text()
    shot(page, "compliance-dashboard")

    page.get_by_test_id("sweep-button").click()
    # Done when the status names the failed customers (the expired relationships).
    page.wait_for_selector("[data-testid=sweep-status] >> text=failed", timeout=60_000)
    status = page.get_by_test_id("sweep-status").inner_text()
    assert "customers" in status and "failed" in status  # the expired relationships
    page.get_by_test_id("sweep-reload").click()
    page.wait_for_selector("canvas#compliance-trend[data-drawn=true]")
    problems = page.get_by_test_id("problem-table").inner_text()
    assert "relationship" in problems
    shot(page, "compliance-dashboard-after-sweep")
    assert set(csp) <= baseline


def test_the_region_filter_and_a_customers_compliance_page(
    page, live_server, regions, customers, browser_sign_in, shot
):
    _history(customers, days=5)
    csp = _watch_csp(page)
    browser_sign_in(page, MANAGER)
    baseline = set(csp)
    # A manager sees their own region only, even when the URL asks for every region.
    page.goto(f"{live_server.url}/compliance/?region=all")
    assert page.locator("#region").count() == 0
    regions_shown = page.get_by_test_id("worst-table").locator("tbody td:nth-child(2)")
    assert set(regions_shown.all_inner_texts()) <= {"US"}
    customer = customers["us"][0]
    page.goto(f"{live_server.url}/customers/{customer.tenant_id}/compliance/")
    page.wait_for_selector("canvas#chart-states[data-drawn=true]")
    page.wait_for_selector("canvas#chart-history[data-drawn=true]")
    assert page.locator(".nav-tabs .nav-link.active").inner_text() == "Compliance"
    shot(page, "compliance-customer")
    assert set(csp) <= baseline
