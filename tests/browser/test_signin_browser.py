"""Each seeded role signs in from a real browser and lands where it should."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("username", "role_label"),
    [
        ("agent@contosopartners.com", "Agent"),
        ("admin@contosopartners.eu", "Admin"),
    ],
)
def test_each_role_signs_in_and_lands_on_the_customer_list(
    page, live_server, regions, customers, browser_sign_in, shot, username, role_label
):
    browser_sign_in(page, username, shot=shot if role_label == "Agent" else None)
    assert page.url == f"{live_server.url}/customers/"
    assert page.get_by_test_id("role").inner_text() == role_label
    assert username in page.get_by_test_id("whoami").inner_text()
    assert page.get_by_test_id("customer-table").locator("tbody tr").count() > 1
    shot(page, f"landing-{role_label.lower()}")


def test_a_manager_signs_in_and_lands_on_the_compliance_dashboard(
    page, live_server, regions, customers, browser_sign_in
):
    browser_sign_in(page, "manager@contosopartners.com")
    assert page.url == f"{live_server.url}/compliance/"
    assert page.get_by_test_id("role").inner_text() == "Manager"


def test_an_agent_without_a_role_sees_no_access(page, live_server, regions, browser_sign_in, shot):
    browser_sign_in(page, "norole@contosopartners.com")
    assert page.url == f"{live_server.url}/no-access/"
    assert "no role in the CSP Portal" in page.get_by_test_id("no-access").inner_text()
    shot(page, "landing-no-role")


def test_an_unknown_domain_gets_a_message_and_stays_on_the_portal(page, live_server, regions):
    page.goto(f"{live_server.url}/signin/")
    page.fill("input[name=username]", "someone@fabrikam.example")
    page.click("button[type=submit]")
    assert page.url.startswith(live_server.url)
    assert "No region signs in accounts of" in page.get_by_test_id("signin-error").inner_text()


def test_signing_out_returns_to_a_signed_out_page(page, live_server, regions, browser_sign_in):
    browser_sign_in(page, "agent@contosopartners.com")
    page.click("text=Sign out")
    page.wait_for_selector("text=You are signed out")
    page.goto(f"{live_server.url}/customers/")
    assert "/signin/" in page.url
