"""An admin consents the app for an unconsented GDAP customer in a real browser."""

from __future__ import annotations

import pytest

from customers.models import ConsentState, Customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_clicks_consent_the_app_and_reads_the_result(
    page, live_server, sim, world, customers, browser_sign_in, shot
):
    us = next(r for r in world["regions"] if r["slug"] == "us")
    tenant = next(
        c["tenant_id"]
        for c in us["customers"][1:]
        if c["relationship"]["type"] == "gdap" and c["relationship"]["status"] == "active"
    )
    sim.consent(tenant, consented=False)
    sim.faults(propagation_delay=1)
    browser_sign_in(page, "admin@contosopartners.com")

    page.goto(f"{live_server.url}/customers/{tenant}/access/")
    page.wait_for_selector("[data-testid=consent-form]")
    shot(page, "customer-consent-before")
    page.get_by_test_id("consent-confirm").check()
    page.get_by_test_id("consent-button").click()
    result = page.wait_for_selector("[data-testid=consent-result]", timeout=30_000)

    assert result.get_attribute("data-kind") == "consented", result.inner_text()
    assert "client credentials work" in result.inner_text()
    assert page.get_by_test_id("consent-state").first.get_attribute("data-state") == "consented"
    shot(page, "customer-consent-done")
    assert Customer.objects.get(tenant_id=tenant).consent_state == ConsentState.CONSENTED
