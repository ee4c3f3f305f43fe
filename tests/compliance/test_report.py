"""The weekly compliance report of a region: its numbers from stored snapshots only (rate now,
a week ago and the weeks before, worst customers, noncompliant devices with their policies),
the page and its CSV for the region's managers and the global admin, 404 for another region's."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from compliance.models import NoncompliantDevice, NoncompliantPolicy
from compliance.report import compliance_report_build, report_document, report_period
from tests.compliance.conftest import tally_of
from tests.factories import client_for, customer_make, user_make

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)


@pytest.fixture
def history(stored_customers, record_sweep):
    """Three weeks of sweeps in "us" (and one in "eu" that must never show there):
    two weeks ago 75 %, a week ago 80 %, now 85 % (B's latest sweep failed: its last good
    figures count), C swept with no devices; two noncompliant devices of A, one with its
    policies read and one without."""
    now = timezone.now()
    a, b, c = stored_customers["us"]
    eu = stored_customers["eu"][0]
    hour = timedelta(hours=1)
    record_sweep(
        {a: tally_of(compliant=60, noncompliant=40), b: tally_of(compliant=90, noncompliant=10)},
        now - timedelta(days=14) - hour,
    )
    record_sweep(
        {a: tally_of(compliant=70, noncompliant=30), b: tally_of(compliant=90, noncompliant=10)},
        now - timedelta(days=7) - hour,
    )
    record_sweep(
        {
            a: tally_of(compliant=80, noncompliant=20),
            b: "Microsoft Graph refused access",
            c: tally_of(),
        },
        now - hour,
    )
    record_sweep({eu: tally_of(compliant=1, noncompliant=99)}, now - hour)
    old = NoncompliantDevice.objects.create(
        customer=a,
        device_id=str(uuid.uuid4()),
        device_name="PC-OLDEST",
        user_principal_name="ann@contoso.example",
        operating_system="Windows",
        since=now - timedelta(days=20),
        seen_at=now - hour,
        policies_read=True,
    )
    NoncompliantPolicy.objects.create(device=old, name="Windows - BitLocker")
    NoncompliantDevice.objects.create(
        customer=a,
        device_id=str(uuid.uuid4()),
        device_name="PC-NEWER",
        since=now - timedelta(days=2),
        seen_at=now - hour,
    )
    NoncompliantDevice.objects.create(
        customer=eu, device_id=str(uuid.uuid4()), device_name="EU-PC", since=now, seen_at=now
    )
    return {"a": a, "b": b, "c": c, "eu": eu, "now": now}


def test_the_report_is_about_the_iso_week_that_ended_last():
    assert report_period(MONDAY) == ("2026-W49", date(2026, 11, 30), date(2026, 12, 6))
    assert report_period(MONDAY + timedelta(days=6, hours=16))[0] == "2026-W49"
    assert report_period(MONDAY + timedelta(days=7))[0] == "2026-W50"
    assert report_period(datetime(2027, 1, 4, 7, tzinfo=UTC))[0] == "2026-W53"


def test_the_reports_numbers_come_from_the_stored_snapshots(own_region, history):
    report = compliance_report_build(region=own_region, now=history["now"], weeks=4)

    assert report.period == report_period(history["now"])[0]
    assert (report.now.devices, report.now.compliant, report.now.rate_pct) == (200, 170, 85.0)
    assert [w.rate_pct for w in report.weeks] == [None, 75.0, 80.0, 85.0]
    assert report.week_ago.rate_pct == 80.0 and report.change_pts == 5.0
    assert report.customers == 3 and report.customers_failing == 1
    assert [(c.name, c.rate_pct) for c in report.worst] == [
        (history["a"].name, 80.0),
        (history["b"].name, 90.0),
    ]
    assert report.noncompliant_devices == 2
    assert [(d.device, d.policies) for d in report.top_devices] == [
        ("PC-OLDEST", ["Windows - BitLocker"]),
        ("PC-NEWER", None),
    ]
    document = report_document(report)
    assert document["now"]["rate_pct"] == 85.0 and document["change_pts"] == 5.0
    assert document["top_devices"][1]["policies"] is None


def test_the_worst_customers_are_five_at_most_lowest_rate_first(
    own_region, stored_customers, record_sweep
):
    many = [customer_make(region=own_region) for _ in range(7)]
    record_sweep(
        {c: tally_of(compliant=10 * i, noncompliant=100 - 10 * i) for i, c in enumerate(many)}
    )

    report = compliance_report_build(region=own_region)

    assert [c.rate_pct for c in report.worst] == [0.0, 10.0, 20.0, 30.0, 40.0]


def test_building_the_report_makes_no_call_to_microsoft_and_a_bounded_number_of_queries(
    own_region, history
):
    # No simulator in this test: nothing could answer a live call. The queries do not grow
    # with the customers: one per week of the trend plus a handful.
    with CaptureQueriesContext(connection) as queries:
        compliance_report_build(region=own_region, now=history["now"], weeks=8)
    assert len(queries) <= 2 * 8 + 6


@pytest.fixture
def manager(own_region):
    return client_for(user_make(region=own_region, role=Role.MANAGER))


def test_a_manager_opens_their_regions_report_and_its_csv(manager, history):
    page = manager.get("/compliance/report/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="report-rate">85.0%<' in body
    assert 'data-testid="report-change">+5.0 pts<' in body
    assert 'data-testid="report-noncompliant">2<' in body
    assert "PC-OLDEST" in body and "Windows - BitLocker" in body and "EU-PC" not in body
    assert history["eu"].name not in body

    export = manager.get("/compliance/report.csv")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["section", "item", "region"]
    sections = {r[0] for r in rows[1:]}
    assert {"summary", "week"} <= sections
    assert AuditEvent.objects.filter(action="compliance.report_export").exists()
    assert "EU-PC" not in str(rows)


def test_a_manager_of_another_region_gets_404(other_region, history):
    eu_manager = client_for(user_make(region=other_region, role=Role.MANAGER))
    assert eu_manager.get("/compliance/report/?region=us").status_code == 404
    assert eu_manager.get("/compliance/report.csv?region=us").status_code == 404
    assert AuditEvent.objects.filter(action="access.denied").exists()
    own = eu_manager.get("/compliance/report/?region=eu").content.decode()
    assert "EU-PC" in own and "PC-OLDEST" not in own


def test_an_agent_may_not_open_the_report(own_agent):
    assert client_for(own_agent).get("/compliance/report/").status_code == 403


def test_a_global_admin_opens_any_regions_report(own_region, history):
    admin = client_for(user_make(region=own_region, role=Role.GLOBAL_ADMIN))
    body = admin.get("/compliance/report/?region=eu").content.decode()
    assert "EU-PC" in body and "PC-OLDEST" not in body
    everything = admin.get("/compliance/report/?region=all").content.decode()
    assert "EU-PC" in everything and "PC-OLDEST" in everything
