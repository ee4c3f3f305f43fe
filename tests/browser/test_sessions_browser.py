"""Sessions in a real browser: htmx after the session ended, two browsers, sign-out that
ends Microsoft's session too."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AGENT = "agent@contosopartners.com"


def test_an_htmx_action_after_the_session_ended_navigates_to_sign_in(
    page, live_server, regions, customers, browser_sign_in, shot
):
    browser_sign_in(page, AGENT)
    assert page.url == f"{live_server.url}/customers/"
    Session.objects.all().delete()  # ended elsewhere: an admin, Microsoft, a timeout
    page.get_by_test_id("sync-button").click()
    page.wait_for_url(f"{live_server.url}/signin/**")
    assert page.url == f"{live_server.url}/signin/?next=/customers/"
    # A whole sign-in page, not one pasted into the sync status fragment.
    assert page.get_by_test_id("signin-form").count() == 1
    assert page.get_by_test_id("sync-status").count() == 0
    shot(page, "htmx-expired-session")


def test_two_browsers_of_one_agent_both_stay_signed_in(
    chromium, page, live_server, regions, customers, browser_sign_in
):
    second_context = chromium.new_context()
    second = second_context.new_page()
    try:
        browser_sign_in(page, AGENT)
        browser_sign_in(second, AGENT)
        page.reload()
        assert page.url == f"{live_server.url}/customers/"
        assert AGENT in page.get_by_test_id("whoami").inner_text()
        second.reload()
        assert second.url == f"{live_server.url}/customers/"
    finally:
        second_context.close()


def test_sign_out_ends_the_microsoft_session_so_sign_in_asks_again(
    page, live_server, regions, customers, browser_sign_in, shot
):
    browser_sign_in(page, AGENT)
    page.get_by_role("button", name="Sign out").click()
    # Portal → the region's end_session_endpoint → back to the portal's signed-out page
    # (the POST's redirect to Microsoft passes CSP form-action).
    page.wait_for_url(f"{live_server.url}/signed-out/")
    assert page.get_by_test_id("signed-out").count() == 1
    shot(page, "signed-out")
    page.get_by_role("link", name="Sign in again").click()
    page.fill("input[name=username]", AGENT)
    page.click("button[type=submit]")
    # Microsoft asks for the password again instead of signing straight back in.
    page.wait_for_selector("input[name=passwd]")
    assert not page.url.startswith(live_server.url)
