"""The sweep status on the dashboard (issue 16): its poll and Reload link keep the page's
region, it counts what the Customers card counts (or says what else it counts), and when it
has finished it tells the page to refresh (HX-Trigger) and says so in a status message.
Stored sweeps, no simulator: nothing here asks Microsoft."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from accounts.models import Role
from compliance.models import ComplianceSweep
from tests.compliance.conftest import tally_of
from tests.factories import client_for, user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The sweeps queued (not run: the tests finish them by hand)."""
    ids: list[int] = []
    monkeypatch.setattr("portal.runs.enqueue_after_commit", lambda task, pk, what: ids.append(pk))
    return ids


@pytest.fixture
def global_admin(own_region):
    return client_for(user_make(region=own_region, role=Role.GLOBAL_ADMIN))


def _finish(sweep_id: int, *, done: int = 0, failed: int = 0) -> None:
    ComplianceSweep.objects.filter(pk=sweep_id).update(
        status=ComplianceSweep.Status.DONE,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        done=done,
        failed=failed,
    )


def _poll_url(html: str) -> str:
    return re.search(r'hx-get="([^"]+)" hx-trigger="every 1s"', html).group(1).replace("&amp;", "&")


def _text(html: str) -> str:
    """What a person reads: the page without its tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def _number(html: str, testid: str) -> int:
    return int(re.search(rf'data-testid="{testid}">(\d+)<', html).group(1))


@pytest.mark.parametrize("region", ["all", "eu", "us"])
def test_reload_after_sweep_now_keeps_the_pages_region(
    global_admin, stored_customers, queued, region
):
    started = global_admin.post("/compliance/sweeps/", {"region": region}).content.decode()
    poll = _poll_url(started)
    assert poll == f"/compliance/sweeps/{queued[0]}/?region={region}"
    running = global_admin.get(poll)
    assert "HX-Trigger" not in running  # not finished: the page is not refreshed yet
    assert 'data-testid="sweep-reload"' not in running.content.decode()
    _finish(queued[0])
    done = global_admin.get(poll)
    body = done.content.decode()
    assert f'href="/compliance/?region={region}" data-testid="sweep-reload"' in body
    assert 'hx-trigger="every 1s"' not in body  # the poll stops


def test_a_managers_sweep_status_keeps_their_region(own_region, stored_customers, queued):
    manager = client_for(user_make(region=own_region, role=Role.MANAGER))
    started = manager.post("/compliance/sweeps/", {"region": "all"}).content.decode()
    assert _poll_url(started).endswith("?region=us")  # a manager sweeps their region only
    _finish(queued[0])
    body = manager.get(_poll_url(started)).content.decode()
    assert 'href="/compliance/?region=us" data-testid="sweep-reload"' in body
    assert "Last sweep of United States" in body


def test_a_finished_sweep_tells_the_page_to_refresh_and_says_what_it_did(
    global_admin, stored_customers, queued
):
    started = global_admin.post("/compliance/sweeps/", {"region": "all"}).content.decode()
    _finish(queued[0], done=4, failed=1)
    done = global_admin.get(_poll_url(started))
    assert done["HX-Trigger"] == "sweep-finished"
    # The message goes into the page's live region (role=status), which stays on the page.
    oob = re.search(
        r'<div id="sweep-announce" hx-swap-oob="innerHTML">.*?data-testid="sweep-toast">([^<]+)<',
        done.content.decode(),
    )
    assert oob.group(1) == "Sweep finished: 4 customers, 1 failed."
    # The dashboard's cards and tables re-fetch themselves on that event.
    page = global_admin.get("/compliance/?region=all").content.decode()
    assert re.search(r'<div id="sweep-announce"[^>]* role="status" aria-live="polite"', page)
    assert page.count('hx-trigger="sweep-finished from:body"') == 1
    assert 'id="compliance-board"' in page and 'hx-select="#compliance-board"' in page
    oob = re.search(r'hx-select-oob="([^"]+)"', page).group(1).split(",")
    assert all(f'id="{target[1:]}"' in page for target in oob)  # each one is on the page
    # Shown on the page later (not just finished): no toast, the Reload link stays.
    assert 'data-testid="sweep-toast"' not in page and 'data-testid="sweep-reload"' in page


def test_the_sweep_status_and_the_customers_card_agree_on_an_unfiltered_page(
    global_admin, stored_customers, record_sweep
):
    us, eu = stored_customers["us"], stored_customers["eu"]
    record_sweep(
        {
            us[0]: tally_of(compliant=3),
            us[1]: "Refused (HTTP 403).",
            us[2]: tally_of(compliant=1),
            eu[0]: "Refused (HTTP 403).",
        }
    )
    page = global_admin.get("/compliance/?region=all").content.decode()
    assert _number(page, "sweep-customers") == 4 == _number(page, "total-customers")
    assert _number(page, "sweep-failed") == 2 == _number(page, "total-failed")
    text = _text(page)
    assert "4 customers swept across 2 regions, 2 failed to sweep" in text
    assert "2 failed their last sweep" in text


def test_the_sweep_status_and_the_customers_card_agree_on_a_filtered_page(
    global_admin, stored_customers, record_sweep
):
    us, eu = stored_customers["us"], stored_customers["eu"]
    record_sweep(
        {
            us[0]: tally_of(compliant=3),
            us[1]: "Refused (HTTP 403).",
            us[2]: tally_of(compliant=1),
            eu[0]: "Refused (HTTP 403).",
        }
    )
    page = global_admin.get("/compliance/?region=us").content.decode()
    # The sweep covered every region: the status says so, and what it did in this one.
    text = _text(page)
    assert "Last sweep of all regions" in text and "4 customers swept across 2 regions" in text
    assert "In United States: 3 swept, 1 failed." in text
    assert _number(page, "sweep-region-customers") == 3 == _number(page, "total-customers")
    assert _number(page, "sweep-region-failed") == 1 == _number(page, "total-failed")
    eu_page = global_admin.get("/compliance/?region=eu").content.decode()
    assert _number(eu_page, "sweep-region-customers") == 1 == _number(eu_page, "total-customers")
    assert _number(eu_page, "sweep-region-failed") == 1 == _number(eu_page, "total-failed")
    # The poll of that sweep on the EU page counts the EU too.
    sweep = ComplianceSweep.objects.get()
    status = global_admin.get(f"/compliance/sweeps/{sweep.pk}/?region=eu").content.decode()
    assert _number(status, "sweep-region-failed") == 1
