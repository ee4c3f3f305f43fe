"""The dashboard, the export and who may see them: stored sweeps and factory users (no
simulator: nothing here asks Microsoft)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from accounts.models import Role, role_from_claims
from audit.models import AuditEvent
from tests.compliance.conftest import tally_of
from tests.factories import client_for, user_make

pytestmark = pytest.mark.django_db

ROLES = {"norole": Role.NONE, "agent": Role.AGENT, "manager": Role.MANAGER, "admin": Role.ADMIN}


@pytest.fixture
def signed_in(own_region):
    """A client signed in to region "us" with a portal role ("norole", "agent", "manager"…)."""

    def _signed_in(role):
        return client_for(user_make(region=own_region, role=ROLES[role]))

    return _signed_in


@pytest.fixture
def customers(stored_customers):
    """Stored rows, not the simulator's: nothing in this module asks Microsoft."""
    return stored_customers


@pytest.mark.parametrize("path", ["/compliance/", "/compliance/export.csv"])
def test_anonymous_visitors_are_sent_to_sign_in(portal_client, path):
    response = portal_client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")


@pytest.mark.parametrize("path", ["/compliance/", "/compliance/export.csv"])
def test_a_user_without_a_portal_role_gets_the_no_access_page(signed_in, path):
    response = signed_in("norole").get(path)
    assert response.status_code == 403
    assert b"access" in response.content.lower()


@pytest.mark.parametrize("path", ["/compliance/", "/compliance/export.csv"])
def test_agents_may_not_see_the_cross_customer_pages(signed_in, path):
    assert signed_in("agent").get(path).status_code == 403


def test_agents_may_not_start_or_watch_a_sweep(signed_in):
    from compliance.services import sweep_start

    sweep, _ = sweep_start()
    client = signed_in("agent")
    assert client.post("/compliance/sweeps/").status_code == 403
    assert client.get(f"/compliance/sweeps/{sweep.pk}/").status_code == 403


@pytest.mark.parametrize("role", ["manager", "admin"])
@pytest.mark.parametrize("path", ["/compliance/", "/compliance/export.csv"])
def test_managers_and_admins_may_see_the_cross_customer_pages(signed_in, role, path):
    assert signed_in(role).get(path).status_code == 200


def test_the_nav_shows_compliance_to_managers_only(signed_in):
    assert b'data-testid="nav-compliance"' in signed_in("manager").get("/customers/").content
    assert b'data-testid="nav-compliance"' not in signed_in("agent").get("/customers/").content


def test_the_dashboard_shows_totals_worst_customers_and_failures_of_the_managers_region(
    signed_in, customers, record_sweep
):
    us, eu = customers["us"], customers["eu"]
    record_sweep(
        {
            us[0]: tally_of(compliant=9, noncompliant=1),
            us[1]: tally_of(compliant=1, noncompliant=3),
            us[2]: "Microsoft Graph refused access (HTTP 403): the admin relationship expired.",
            eu[0]: tally_of(compliant=1, noncompliant=99),
        }
    )
    body = signed_in("manager").get("/compliance/").content.decode()
    assert re.search(r'data-testid="total-noncompliant">4<', body)
    assert re.search(r'data-testid="total-rate">71.4%<', body)  # 10 of 14
    worst = body[body.index('data-testid="worst-table"') :]
    assert worst.index(escape(us[1].name)) < worst.index(escape(us[0].name))
    assert escape(eu[0].name) not in body  # another region: not shown by default
    problems = body[body.index('data-testid="problem-table"') :]
    assert "the admin relationship expired" in problems
    assert "compliance-chart-data" in body and "<script>" not in body.replace(
        '<script id="compliance-chart-data" type="application/json">', ""
    )


def test_a_manager_sees_only_their_own_region_whatever_they_ask_for(
    signed_in, customers, record_sweep
):
    """Security round two (issue 12): `?region=eu` or `all` from a US manager is the US."""
    us, eu = customers["us"], customers["eu"]
    record_sweep({us[0]: tally_of(compliant=10), eu[0]: tally_of(compliant=1, noncompliant=9)})
    client = signed_in("manager")
    for asked in ("all", "eu", "nowhere", ""):
        body = client.get(f"/compliance/?region={asked}").content.decode()
        assert escape(eu[0].name) not in body, asked
        assert escape(us[0].name) in body, asked
        assert 'id="region"' not in body  # no picker: there is nothing else to pick
    for asked in ("all", "eu"):
        export = client.get(f"/compliance/export.csv?region={asked}")
        text = b"".join(export.streaming_content).decode()
        assert str(eu[0].tenant_id) not in text and str(us[0].tenant_id) in text
        assert 'filename="compliance-us-' in export["Content-Disposition"]


def test_a_global_admin_picks_any_region_or_all(customers, record_sweep, regions):
    us, eu = customers["us"], customers["eu"]
    record_sweep({us[0]: tally_of(compliant=10), eu[0]: tally_of(compliant=1, noncompliant=9)})
    client = client_for(user_make(region=regions["us"], role=Role.GLOBAL_ADMIN))
    body = client.get("/compliance/?region=all").content.decode()
    assert escape(eu[0].name) in body and 'id="region"' in body
    assert re.search(r'data-testid="total-noncompliant">9<', body)
    eu_only = client.get("/compliance/?region=eu").content.decode()
    assert re.search(r'data-testid="total-rate">10.0%<', eu_only)
    # A customer of another region is named but not linked: its pages are region-isolated.
    assert f"/customers/{eu[0].tenant_id}/compliance/" not in body


def test_the_global_admin_app_role_maps_to_the_role_that_crosses_regions():
    assert role_from_claims(["Portal.GlobalAdmin"]) == Role.GLOBAL_ADMIN
    assert role_from_claims(["Portal.Admin", "Portal.GlobalAdmin"]) == Role.GLOBAL_ADMIN
    assert role_from_claims(["Portal.Admin"]) == Role.ADMIN


def test_customers_never_swept_or_with_old_data_need_attention(
    signed_in, customers, record_sweep, settings
):
    settings.COMPLIANCE_DATA_STALE_HOURS = 24
    us = customers["us"]
    record_sweep({us[0]: tally_of(compliant=5)}, at=timezone.now() - timedelta(days=3))
    body = signed_in("manager").get("/compliance/").content.decode()
    problems = body[body.index('data-testid="problem-table"') :]
    assert "No successful sweep for 24 hours." in problems
    assert "Not swept yet." in problems
    count = re.search(r'data-testid="problem-count">(\d+)<', body)
    assert count and int(count.group(1)) == len(us)


def test_the_trend_is_one_point_per_day_in_the_json_data(signed_in, customers, record_sweep):
    us = customers["us"][0]
    now = timezone.now()
    record_sweep({us: tally_of(compliant=1, noncompliant=1)}, at=now - timedelta(days=1))
    record_sweep({us: tally_of(compliant=3, noncompliant=1)}, at=now)
    body = signed_in("manager").get("/compliance/").content.decode()
    raw = re.search(r'id="compliance-chart-data" type="application/json">(.*?)</script>', body)
    data = json.loads(raw.group(1))
    assert data["trend"]["rate"] == [50.0, 75.0]
    assert data["trend"]["labels"][-1] == now.date().isoformat()


def _csv(response):
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_streams_one_row_per_customer_with_its_latest_snapshot(
    signed_in, customers, record_sweep
):
    us = customers["us"]
    record_sweep({us[0]: tally_of(compliant=1)}, at=timezone.now() - timedelta(hours=2))
    record_sweep({us[0]: tally_of(compliant=3, noncompliant=1), us[1]: "Refused (HTTP 403)."})
    response = signed_in("manager").get("/compliance/export.csv")
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = {r["tenant_id"]: r for r in _csv(response)}
    assert len(rows) == len(us)
    first = rows[str(us[0].tenant_id)]
    assert (first["devices"], first["compliant"], first["noncompliant"]) == ("4", "3", "1")
    assert first["compliance_rate"] == "75.0%" and first["last_sweep_ok"] == "yes"
    failed = rows[str(us[1].tenant_id)]
    assert failed["last_sweep_ok"] == "no" and failed["last_sweep_error"] == "Refused (HTTP 403)."
    assert failed["devices"] == ""
    assert rows[str(us[2].tenant_id)]["last_sweep_at"] == ""
    assert AuditEvent.objects.filter(action="compliance.export").exists()


def test_the_export_defuses_customer_names_that_look_like_formulas(
    signed_in, customers, record_sweep
):
    customer = customers["us"][0]
    customer.name = '=HYPERLINK("http://evil","x")'
    customer.save()
    record_sweep({customer: tally_of(compliant=1)})
    rows = _csv(signed_in("manager").get("/compliance/export.csv"))
    row = next(r for r in rows if r["tenant_id"] == str(customer.tenant_id))
    assert row["customer"] == "'" + customer.name


def test_sweep_now_queues_one_sweep_and_shows_its_progress(signed_in, customers, monkeypatch):
    queued = []
    monkeypatch.setattr(
        "portal.runs.enqueue_after_commit", lambda task, pk, what: queued.append(pk)
    )
    client = signed_in("manager")
    first = client.post("/compliance/sweeps/")
    second = client.post("/compliance/sweeps/")
    assert first.status_code == second.status_code == 200
    assert len(queued) == 1
    assert b'hx-trigger="every 1s"' in second.content
    status = client.get(f"/compliance/sweeps/{queued[0]}/")
    assert b"Queued" in status.content
