"""An agent creates a customer and watches its provisioning live, in Chromium."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest

from customers.models import Customer
from tests.factories import customers_synced

# The worker + beat fixtures live with the provisioning tests; importing them makes them
# available here without touching the shared browser conftest.
from tests.provisioning.conftest import (  # noqa: F401
    consent_given,
    provisioning_celery,
    provisioning_queue,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("provisioning_celery"),
]

AGENT = "agent@contosopartners.com"


def _hash(message: str) -> str:
    """The hash Chromium quotes for the blocked inline code: the same code, the same hash."""
    found = re.search(r"sha256-[A-Za-z0-9+/=]+", message)
    return found.group(0) if found else message


def test_an_agent_creates_a_customer_and_follows_its_provisioning_live(
    page: Any,
    live_server: Any,
    regions: Any,
    sim: Any,
    settings: Any,
    browser_sign_in: Any,
    shot: Any,
) -> None:
    settings.PROVISIONING_WAIT_SECONDS = 4
    settings.PROVISIONING_RETRY_SECONDS = 5
    settings.PROVISIONING_MAX_ATTEMPTS = 3
    # The first attempt comes before the relationship reaches the tenant: a token without
    # roles, a 403, then a retry with a new token.
    sim.faults(propagation_delay=6, propagation_mode="no_roles")
    violations: list[tuple[str, str]] = []
    page.on(
        "console",
        lambda m: (
            violations.append((page.url, m.text))
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    browser_sign_in(page, AGENT)

    page.goto(f"{live_server.url}/customers/")
    page.get_by_test_id("new-customer").click()
    page.wait_for_url(f"{live_server.url}/customers/new/")
    prefix = f"harbor{uuid.uuid4().hex[:8]}"
    page.fill("input[name=company_name]", "Harbor Dental LLC")
    page.fill("input[name=domain_prefix]", "harbor-dental")
    page.fill("input[name=first_name]", "Dana")
    page.fill("input[name=last_name]", "Brook")
    page.fill("input[name=email]", "dana@harbor")
    page.fill("input[name=address_line1]", "1 Pier Road")
    page.fill("input[name=city]", "Seattle")
    page.fill("input[name=postal_code]", "98101")
    page.fill("input[name=country]", "XX")
    shot(page, "provisioning-create-form")
    page.get_by_test_id("create-submit").click()
    assert "letters or digits only" in page.get_by_test_id("error-domain_prefix").inner_text()
    assert "not an ISO 3166" in page.get_by_test_id("error-country").inner_text()
    assert "valid email" in page.get_by_test_id("error-email").inner_text()
    shot(page, "provisioning-create-errors")

    page.fill("input[name=domain_prefix]", prefix)
    page.fill("input[name=email]", "dana@harbor.example")
    page.fill("input[name=country]", "us")
    page.get_by_test_id("create-submit").click()
    page.wait_for_url(f"{live_server.url}/customers/*/provisioning/")
    customer = Customer.objects.get(default_domain=f"{prefix}.onmicrosoft.com")
    # A customer created today has no consent: an admin gives it meanwhile (the consent
    # page has its own tests), so the run goes on from the wait to the first calls.
    consent_given(sim, customer)
    # Held until the agent asks: the reveal is a POST (a GET never consumes it).
    page.get_by_test_id("reveal-credentials").click()
    page.wait_for_url(f"{live_server.url}/customers/*/provisioning/reveal/")
    password = page.get_by_test_id("initial-password").inner_text()
    assert password
    shown = page.get_by_test_id("initial-credentials").inner_text()
    assert f"admin@{prefix}.onmicrosoft.com" in shown

    status = page.get_by_test_id("provisioning-status")
    assert status.get_attribute("data-status") == "waiting"
    countdown = page.get_by_test_id("countdown")
    first = countdown.inner_text()
    # It counts down between the 2 s polls; a poll landing mid-way may repeat one value.
    deadline = time.monotonic() + 4
    while countdown.inner_text() == first and time.monotonic() < deadline:
        time.sleep(0.2)
    assert countdown.inner_text() != first
    shot(page, "provisioning-waiting")

    page.wait_for_selector('[data-testid="provisioning-status"][data-status="retrying"]')
    assert "Attempt 1 of 3 failed" in page.get_by_test_id("provisioning-message").inner_text()
    assert "HTTP 403" in page.get_by_test_id("provisioning-error").inner_text()
    shot(page, "provisioning-retrying")

    page.wait_for_selector(
        '[data-testid="provisioning-status"][data-status="ready"]', timeout=30_000
    )
    assert f"{prefix}.onmicrosoft.com" in page.get_by_test_id("provisioned-domains").inner_text()
    shot(page, "provisioning-ready")

    # Shown once: the page opened again no longer has the password, nor offers it.
    page.goto(f"{live_server.url}/customers/{customer.tenant_id}/provisioning/")
    assert page.get_by_test_id("initial-credentials").count() == 0
    assert page.get_by_test_id("reveal-credentials").count() == 0
    assert password not in page.content()

    # The overview works now that the relationship is there, with the status on it.
    page.goto(f"{live_server.url}/customers/{customer.tenant_id}/")
    card = page.get_by_test_id("provisioning-card")
    assert "Ready" in card.inner_text()
    shot(page, "provisioning-overview")
    # htmx injects its indicator <style> on every page, the sign-in page included (base.html
    # does not yet turn includeIndicatorStyles off); anything else is ours and must not be.
    baseline = {_hash(text) for url, text in violations if "/signin/" in url}
    ours = [(url, text) for url, text in violations if _hash(text) not in baseline]
    assert not ours, ours


def test_the_overview_shows_the_invitation_link_and_the_sync_starts_the_checks_on_approval(
    page: Any,
    live_server: Any,
    customers: Any,
    regions: Any,
    sim: Any,
    settings: Any,
    browser_sign_in: Any,
    shot: Any,
) -> None:
    settings.PROVISIONING_WAIT_SECONDS = 2
    customer = customers["us"][0]
    tenant_id = str(customer.tenant_id)
    sim.relationship(tenant_id, status="approvalPending")
    customers_synced(regions["us"])
    browser_sign_in(page, AGENT)
    page.goto(f"{live_server.url}/customers/{tenant_id}/")
    # Known before any call: nothing reaches the tenant until the customer approves.
    assert (
        "has not approved the GDAP relationship"
        in page.get_by_test_id("graph-problem").inner_text()
    )
    link = page.get_by_test_id("invitation-link").first
    assert link.get_attribute("href").startswith(
        "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/"
        "granularAdminRelationships/"
    )
    assert customer.provisionings.count() == 0  # no manual "they accepted" button any more
    shot(page, "provisioning-invitation-link")
    sim.faults(propagation_delay=1)
    sim.accept_invitation(tenant_id)
    customers_synced(regions["us"])  # the next sync sees the approval and starts the checks
    run = customer.provisionings.get()
    assert (run.kind, run.requested_by) == ("invitation", "customer sync")
    page.goto(f"{live_server.url}/customers/{tenant_id}/provisioning/")
    assert "Invitation accepted" in page.get_by_test_id("provisioning-status").inner_text()
    page.wait_for_selector('[data-testid="provisioning-status"][data-status="ready"]')
    shot(page, "provisioning-invitation-ready")


def test_an_agent_confirms_the_accepted_invitation_and_the_header_badge_follows_the_run(
    page: Any,
    live_server: Any,
    customers: Any,
    regions: Any,
    sim: Any,
    settings: Any,
    browser_sign_in: Any,
    shot: Any,
) -> None:
    settings.PROVISIONING_WAIT_SECONDS = 2
    customer = customers["us"][0]
    tenant_id = str(customer.tenant_id)
    sim.relationship(tenant_id, status="approvalPending")
    customers_synced(regions["us"])
    browser_sign_in(page, AGENT)
    page.goto(f"{live_server.url}/customers/{tenant_id}/provisioning/")
    badge = page.get_by_test_id("customer-status-badge")
    assert "Pending" in badge.inner_text()
    # One click only opens the confirmation, which says what the next click starts.
    confirm = page.get_by_test_id("invitation-confirm")
    assert not confirm.is_visible()
    page.get_by_text("The customer accepted our invitation").click()
    assert "waits 2 seconds" in page.get_by_test_id("invitation-confirm-text").inner_text()
    assert customer.provisionings.count() == 0
    shot(page, "provisioning-invitation-confirm")
    sim.faults(propagation_delay=0)
    sim.accept_invitation(tenant_id)  # approved in Microsoft; the portal's sync has not run
    page.get_by_test_id("invitation-confirm-button").click()
    page.wait_for_selector('[data-testid="provisioning-status"][data-status="ready"]')
    # The page was never reloaded: the polled status brought the header badge along.
    page.wait_for_function(
        "() => document.querySelector('[data-testid=customer-status-badge]')"
        ".innerText.includes('Active')",
        timeout=10000,
    )
    assert page.locator("#customer-status-badge").count() == 1
    assert customer.provisionings.get().requested_by == AGENT
