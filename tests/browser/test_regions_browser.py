"""A global admin configures a region against the simulator, checks its setup, preconsents it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from regions.models import Region
from tests.regions.conftest import sim_region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Creating a region is a global admin's (Portal.GlobalAdmin): a region admin has one region.
GLOBAL_ADMIN = "globaladmin@contosopartners.com"
ADMIN_EU = "admin@contosopartners.eu"


def test_a_global_admin_creates_a_region_checks_it_and_preconsents_until_all_is_green(
    page, chromium, live_server, regions, world, sim, browser_sign_in, shot
):
    browser_sign_in(page, GLOBAL_ADMIN)
    # A fresh EU configuration, and an app that is not yet in the partner's AdminAgents.
    Region.objects.filter(slug="eu").delete()
    sim.session.post(f"{sim.base_url}/_sim/regions/eu/revoke-preconsent", timeout=10)
    eu = sim_region(world, "eu")

    page.goto(f"{live_server.url}/regions/")
    page.get_by_test_id("new-region").click()
    page.fill("input[name=name]", eu["name"])
    page.fill("input[name=slug]", "eu")
    page.fill("textarea[name=domains]", eu["partner_domain"])
    page.fill("input[name=partner_tenant_id]", "not-a-guid")
    page.select_option("select[name=cloud]", "custom")
    page.locator("details summary").click()
    page.fill("input[name=login_host]", world["endpoints"]["login"])
    page.fill("input[name=graph_base_url]", world["endpoints"]["graph"])
    page.fill("input[name=partner_center_base_url]", world["endpoints"]["partner_center"])
    page.fill("input[name=ca_bundle]", sim.ca)
    page.fill("input[name=client_id]", eu["app"]["client_id"])
    page.fill("input[name=client_secret]", eu["app"]["client_secret"])
    page.fill(
        "input[name=client_secret_expires_on]",
        (date.today() + timedelta(days=20)).isoformat(),
    )
    page.get_by_test_id("save-region").click()
    assert "is not a GUID" in page.get_by_test_id("error-partner_tenant_id").inner_text()
    assert page.locator("input[name=client_secret]").input_value() == ""
    shot(page, "regions-form-error")

    page.fill("input[name=partner_tenant_id]", eu["partner_tenant_id"])
    page.fill("input[name=client_secret]", eu["app"]["client_secret"])
    page.get_by_test_id("save-region").click()
    page.wait_for_url(f"{live_server.url}/regions/eu/setup/?run=1")

    admin_agents = page.get_by_test_id("check-adminagents")
    page.wait_for_selector('[data-testid="check-permissions"][data-status="ok"]')
    assert admin_agents.get_attribute("data-status") == "fail"
    assert page.get_by_test_id("check-credential").get_attribute("data-status") == "warn"
    assert "expires on" in page.get_by_test_id("check-credential").inner_text()
    shot(page, "regions-setup-preconsent-missing")

    # The global admin is of another partner tenant: only the EU partner tenant's own admin
    # can add the app to its AdminAgents group (Microsoft's steps are a partner admin's).
    page.get_by_test_id("preconsent-button").click()
    refused = page.wait_for_selector('[data-testid="check-adminagents"]:has-text("refused")')
    assert "Sign in as an admin of this region's partner tenant" in refused.inner_text()
    context = chromium.new_context(viewport={"width": 1360, "height": 860})
    page = context.new_page()
    browser_sign_in(page, ADMIN_EU)
    page.goto(f"{live_server.url}/regions/eu/setup/?run=1")
    page.wait_for_selector('[data-testid="check-permissions"][data-status="ok"]')
    page.get_by_test_id("preconsent-button").click()
    page.wait_for_selector('[data-testid="check-adminagents"][data-status="ok"]')
    assert "Added to AdminAgents" in page.get_by_test_id("check-notice").inner_text()
    # The rows after it run again, and the summary turns green.
    page.wait_for_selector('[data-testid="setup-summary"][data-passed="true"]')
    shot(page, "regions-setup-green")

    page.get_by_test_id("run-checks").click()
    page.wait_for_selector('[data-testid="setup-summary"][data-passed="true"]')
    statuses = [
        page.get_by_test_id(f"check-{key}").get_attribute("data-status")
        for key in ("discovery", "credential", "multitenant", "adminagents", "permissions")
    ]
    assert statuses == ["ok", "warn", "ok", "ok", "ok"]
    shot(page, "regions-setup-all-passed")

    page.get_by_test_id("nav-regions").click()
    assert "expires on" in page.get_by_test_id("credential-warning").first.inner_text()
    shot(page, "regions-list")
    context.close()


def test_the_region_form_shows_only_the_chosen_credential_and_outlines_invalid_fields(
    page, live_server, regions, browser_sign_in
):
    browser_sign_in(page, GLOBAL_ADMIN)
    page.goto(f"{live_server.url}/regions/new/")
    secret = page.get_by_test_id("credential-secret")
    certificate = page.get_by_test_id("credential-certificate")
    page.check("input[name=credential_type][value=secret]")
    assert secret.is_visible() and not certificate.is_visible()
    page.check("input[name=credential_type][value=certificate]")
    assert certificate.is_visible() and not secret.is_visible()

    page.fill("input[name=partner_tenant_id]", "not-a-guid")
    page.fill("textarea[name=domains]", "https://x.com\nuser@contoso.eu")
    page.get_by_test_id("save-region").click()
    field = page.locator("input[name=partner_tenant_id]")
    assert "is-invalid" in (field.get_attribute("class") or "")
    # The red outline is Bootstrap's: the input's border takes the danger colour.
    assert field.evaluate("e => getComputedStyle(e).borderColor") != "rgb(222, 226, 230)"
    described = field.get_attribute("aria-describedby") or ""
    assert "is not a GUID" in page.locator(f"#{described.split()[-1]}").inner_text()
    assert page.get_by_test_id("error-domains").count() == 2
    # The choice survives the round trip, and so does showing only its section.
    assert certificate.is_visible() and not secret.is_visible()
