"""The setup checklist page: htmx rows that run one after another, and "Preconsent now"."""

from __future__ import annotations

import pytest

from regions.models import Region
from regions.setup import CHECKS, setup_summary

pytestmark = pytest.mark.django_db


def test_the_setup_page_lists_every_check_and_runs_the_first_on_load(admin_client, regions):
    page = admin_client.get("/regions/us/setup/?run=1").content.decode()
    for check in CHECKS:
        assert f'data-testid="check-{check.key}"' in page
    assert page.count('hx-trigger="load"') == 1
    assert 'hx-post="/regions/us/setup/discovery/"' in page


def test_without_run_the_page_only_shows_the_last_results(admin_client, regions):
    page = admin_client.get("/regions/us/setup/").content.decode()
    assert 'hx-trigger="load"' not in page
    assert "Not checked yet." in page


def test_each_answered_row_starts_the_next_one(admin_client, regions):
    row = admin_client.post("/regions/us/setup/discovery/").content.decode()
    assert 'data-status="ok"' in row
    assert 'id="check-credential"' in row
    assert 'hx-swap-oob="true"' in row
    assert 'hx-post="/regions/us/setup/credential/"' in row


def test_the_last_row_reports_all_green(admin_client, regions):
    for check in CHECKS:
        row = admin_client.post(f"/regions/us/setup/{check.key}/").content.decode()
    assert 'data-passed="true"' in row
    assert "All checks passed" in row
    summary = setup_summary(Region.objects.get(slug="us"))
    assert summary["complete"] and summary["passed"] == len(CHECKS)


def test_an_unknown_check_is_404(admin_client, regions):
    assert admin_client.post("/regions/us/setup/nonsense/").status_code == 404


def test_a_failed_row_shows_microsofts_words_and_what_to_do(admin_client, regions):
    region = regions["us"]
    region.set_client_secret("wrong-secret")
    region.save()
    row = admin_client.post("/regions/us/setup/credential/").content.decode()
    assert 'data-status="fail"' in row
    assert "AADSTS7000215" in row
    assert "What to do:" in row
    assert "wrong-secret" not in row


def test_preconsent_now_by_the_regions_own_admin_turns_the_row_green(admin_client, regions, sim):
    sim.session.post(f"{sim.base_url}/_sim/regions/us/revoke-preconsent", timeout=10)
    row = admin_client.post("/regions/us/setup/adminagents/").content.decode()
    assert 'data-status="fail"' in row
    assert 'data-testid="preconsent-button"' in row
    done = admin_client.post("/regions/us/preconsent/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="ok"' in done
    assert 'data-testid="check-notice"' in done


def test_preconsent_twice_is_not_an_error(admin_client, regions):
    # Already a member: Graph answers 400 "already exist", which counts as done.
    first = admin_client.post("/regions/us/preconsent/", HTTP_HX_REQUEST="true")
    second = admin_client.post("/regions/us/preconsent/", HTTP_HX_REQUEST="true")
    assert 'data-status="ok"' in first.content.decode()
    assert 'data-status="ok"' in second.content.decode()


def test_preconsent_without_htmx_redirects_back_to_the_checklist(admin_client, regions):
    response = admin_client.post("/regions/us/preconsent/")
    assert response.status_code == 302
    assert response["Location"] == "/regions/us/setup/?run=1"


def test_the_page_remembers_the_last_status_of_each_check(admin_client, regions):
    admin_client.post("/regions/us/setup/discovery/")
    page = admin_client.get("/regions/us/setup/").content.decode()
    assert "Last result: ok" in page


def test_while_running_the_later_rows_wait_for_the_one_above(admin_client, regions):
    page = admin_client.get("/regions/us/setup/?run=1").content.decode()
    assert page.count('data-status="queued"') == len(CHECKS) - 1


def test_an_unknown_region_is_404(admin_client, regions):
    assert admin_client.get("/regions/nowhere/").status_code == 404
    assert admin_client.get("/regions/nowhere/setup/").status_code == 404
