"""The compliance tables (issue 16): the noncompliant devices and the dashboard's customers
that need attention sort in the database and keep each user's columns; the CSV exports write
times as ISO 8601 and rates as the pages show them. Stored rows, no simulator: nothing here
asks Microsoft."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from django.utils.html import escape

from accounts.models import Role
from audit.models import AuditEvent
from compliance import tables
from compliance.models import NoncompliantDevice
from portal.tables import TABLES
from tests.compliance.conftest import tally_of
from tests.factories import client_for, user_make

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def manager(own_region):
    return client_for(user_make(region=own_region, role=Role.MANAGER))


@pytest.fixture
def devices(stored_customers):
    """Three noncompliant devices of two US customers, one of the EU, as a sweep stores them:
    BRAVO noncompliant longest, then CHARLIE, then ALPHA."""
    us, eu = stored_customers["us"], stored_customers["eu"]
    us[0].name, us[1].name = "Adatum", "Contoso"
    us[0].save(), us[1].save()

    def make(customer, name, user, os, days):
        return NoncompliantDevice.objects.create(
            customer=customer,
            device_id=f"00000000-0000-4000-8000-{abs(hash(name)) % 10**12:012d}",
            device_name=name,
            user_principal_name=user,
            operating_system=os,
            last_sync_at=NOW - timedelta(hours=days),
            since=NOW - timedelta(days=days),
            seen_at=NOW,
        )

    return {
        "ALPHA": make(us[1], "ALPHA", "zoe@contoso.example", "Windows", 1),
        "BRAVO": make(us[0], "BRAVO", "amy@adatum.example", "macOS", 9),
        "CHARLIE": make(us[0], "CHARLIE", "max@adatum.example", "Windows", 4),
        "EU-PC": make(eu[0], "EU-PC", "eve@fabrikam.example", "Windows", 2),
    }


def _rows(body: str) -> list[str]:
    """The device names of the noncompliant table, top to bottom."""
    table = body[body.index('data-testid="noncompliant-table"') :]
    return re.findall(
        r'<tr data-device="[^"]+">.*?fw-semibold text-break">(?:<a [^>]+>)?([^<]+)<', table
    )


# A customer's name in the needs-attention table (linked when it is of the user's region).
_PROBLEM_NAME = r"<tr><td>(?:<a [^>]+>)?(\w+)(?:</a>)?</td>"


def _headers(body: str, testid: str) -> list[str]:
    table = body[body.index(f'data-testid="{testid}"') :]
    head = table[: table.index("</thead>")]
    return re.findall(r'<th scope="col" data-column="([^"]+)"', head)


def test_the_compliance_tables_are_registered_for_the_column_chooser():
    assert TABLES["compliance-noncompliant"] is tables.NONCOMPLIANT
    assert TABLES["compliance-problems"] is tables.PROBLEMS


def test_noncompliant_devices_are_longest_noncompliant_first_by_default(manager, devices):
    body = manager.get("/compliance/noncompliant/").content.decode()
    assert _rows(body) == ["BRAVO", "CHARLIE", "ALPHA"]
    assert 'data-column="since" aria-sort="ascending"' in body


def test_a_manager_sorts_noncompliant_devices_by_a_column_either_way(manager, devices):
    up = manager.get("/compliance/noncompliant/?sort=device&dir=asc").content.decode()
    assert _rows(up) == ["ALPHA", "BRAVO", "CHARLIE"]
    assert 'data-column="device" aria-sort="ascending"' in up
    down = manager.get("/compliance/noncompliant/?sort=device&dir=desc").content.decode()
    assert _rows(down) == ["CHARLIE", "BRAVO", "ALPHA"]
    assert 'data-column="device" aria-sort="descending"' in down
    by_user = manager.get("/compliance/noncompliant/?sort=user&dir=desc").content.decode()
    assert _rows(by_user) == ["ALPHA", "CHARLIE", "BRAVO"]  # zoe, max, amy
    # Ties on the customer are broken by the default order (since), then the device.
    by_customer = manager.get("/compliance/noncompliant/?sort=customer").content.decode()
    assert _rows(by_customer) == ["BRAVO", "CHARLIE", "ALPHA"]


@pytest.mark.parametrize("asked", ["?sort=nope", "?sort=policies", "?sort=since&dir=sideways"])
def test_an_unknown_or_unsortable_sort_falls_back_to_the_default(manager, devices, asked):
    body = manager.get(f"/compliance/noncompliant/{asked}").content.decode()
    assert _rows(body) == ["BRAVO", "CHARLIE", "ALPHA"]
    assert "A device can fail several policies" in body  # why that column does not sort


def test_sort_links_pages_and_the_export_keep_the_region_and_the_filters(manager, devices):
    many = devices["ALPHA"]
    for i in range(55):
        NoncompliantDevice.objects.create(
            customer=many.customer,
            device_id=f"10000000-0000-4000-8000-{i:012d}",
            device_name=f"WIN-{i:03}",
            operating_system="Windows",
            since=NOW - timedelta(minutes=i),
            seen_at=NOW,
        )
    body = manager.get("/compliance/noncompliant/?os=Windows&q=WIN&sort=device&dir=desc")
    text = body.content.decode()
    link = re.search(r'data-column="user"[^>]*><a class="sort-link" href="([^"]+)"', text)
    query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
    assert query == {
        "region": ["us"],
        "os": ["Windows"],
        "q": ["WIN"],
        "sort": ["user"],
        "dir": ["asc"],
    }
    nxt = re.search(r'href="([^"]+)" data-testid="noncompliant-next"', text).group(1)
    query = parse_qs(urlsplit(nxt.replace("&amp;", "&")).query)
    assert query["sort"] == ["device"] and query["dir"] == ["desc"] and query["os"] == ["Windows"]
    assert query["region"] == ["us"] and query["page"] == ["2"]
    # The second page continues the order: 55 WIN devices descending, 50 a page.
    second = manager.get("/compliance/noncompliant/" + nxt.replace("&amp;", "&"))
    second = second.content.decode()
    assert _rows(second) == [f"WIN-{i:03}" for i in range(4, -1, -1)]
    # The filter form keeps the sort; the export link the sort and the filters.
    assert '<input type="hidden" name="sort" value="device">' in text
    export = re.search(r'href="([^"]+)" data-testid="noncompliant-export"', text).group(1)
    assert "sort=device" in export and "os=Windows" in export and "region=us" in export


def test_the_columns_a_manager_chooses_are_the_ones_shown(manager, devices):
    chosen = manager.post(
        "/tables/compliance-noncompliant/columns/",
        {"columns": ["user", "region"], "next": "/compliance/noncompliant/?region=us"},
    )
    assert chosen.status_code == 302 and chosen["Location"] == "/compliance/noncompliant/?region=us"
    body = manager.get("/compliance/noncompliant/").content.decode()
    assert _headers(body, "noncompliant-table") == ["device", "user", "region"]  # device: always
    assert "zoe@contoso.example" in body and "Adatum" not in body.split("<tbody>")[1]
    assert AuditEvent.objects.filter(action="preferences.columns").exists()
    manager.post("/tables/compliance-noncompliant/columns/", {"reset": "1", "next": "/"})
    again = manager.get("/compliance/noncompliant/").content.decode()
    assert _headers(again, "noncompliant-table") == [
        "customer",
        "device",
        "user",
        "os",
        "policies",
        "sync",
        "since",
    ]


def test_the_dashboards_needs_attention_table_sorts_and_keeps_chosen_columns(
    own_region, stored_customers
):
    admin = client_for(user_make(region=own_region, role=Role.GLOBAL_ADMIN))
    us, eu = stored_customers["us"], stored_customers["eu"]
    for customer, name in zip([*us, *eu], ["Bravo", "Alpha", "Delta", "Charlie"], strict=True):
        customer.name = name
        customer.save()
    body = admin.get("/compliance/?region=all").content.decode()
    problems = body[body.index('data-testid="problem-table"') :]
    assert re.findall(_PROBLEM_NAME, problems) == [
        "Alpha",
        "Bravo",
        "Charlie",
        "Delta",
    ]
    down = admin.get("/compliance/?region=all&sort=customer&dir=desc").content.decode()
    problems = down[down.index('data-testid="problem-table"') :]
    assert re.findall(_PROBLEM_NAME, problems) == ["Delta", "Charlie", "Bravo", "Alpha"]
    # The sort links keep the region.
    assert "?region=all&amp;sort=region&amp;dir=asc" in down
    admin.post("/tables/compliance-problems/columns/", {"columns": ["region"], "next": "/"})
    chosen = admin.get("/compliance/?region=all").content.decode()
    assert _headers(chosen, "problem-table") == ["customer", "region"]


def _csv(response) -> list[dict[str, str]]:
    raw = b"".join(response.streaming_content).decode("utf-8")
    assert raw.startswith("\ufeff")  # a BOM: Excel reads UTF-8 only with it
    return list(csv.DictReader(io.StringIO(raw[1:])))


def test_the_noncompliant_csv_has_iso_times_without_microseconds_in_the_tables_order(
    manager, devices
):
    rows = _csv(manager.get("/compliance/noncompliant.csv?sort=device&dir=desc"))
    assert [r["device"] for r in rows] == ["CHARLIE", "BRAVO", "ALPHA"]
    alpha = rows[2]
    assert alpha["noncompliant_since"] == "2026-12-01T09:30:15+00:00"
    assert alpha["last_sync_at"] == "2026-12-02T08:30:15+00:00"
    assert alpha["seen_at"] == "2026-12-02T09:30:15+00:00"


def test_the_compliance_csv_writes_the_rate_as_the_dashboard_shows_it(
    manager, stored_customers, record_sweep
):
    us = stored_customers["us"]
    record_sweep({us[0]: tally_of(compliant=7, noncompliant=1)}, at=NOW)
    body = manager.get("/compliance/").content.decode()
    shown = re.search(r'data-testid="worst-table">.*?badge [^"]+">([^<]+)<', body, re.S).group(1)
    row = next(
        r for r in _csv(manager.get("/compliance/export.csv")) if r["customer"] == us[0].name
    )
    assert row["compliance_rate"] == shown == "87.5%"
    assert row["last_sweep_at"] == row["data_as_of"] == "2026-12-02T09:30:15+00:00"


def test_the_report_csv_writes_rates_as_the_report_page_shows_them(
    manager, stored_customers, record_sweep
):
    us = stored_customers["us"]
    record_sweep({us[0]: tally_of(compliant=7, noncompliant=1)}, at=timezone.now())
    page = manager.get("/compliance/report/").content.decode()
    shown = re.search(r'data-testid="report-rate">([^<]+)<', page).group(1)
    rows = _csv(manager.get("/compliance/report.csv"))
    summary = next(r for r in rows if r["section"] == "summary")
    assert summary["compliance_rate"] == shown == "87.5%"
    worst = next(r for r in rows if r["section"] == "worst customer")
    assert worst["compliance_rate"] == "87.5%"
    assert re.fullmatch(r"as of \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", worst["detail"])


def test_another_regions_customer_is_named_not_linked_in_the_noncompliant_table(
    own_region, devices
):
    admin = client_for(user_make(region=own_region, role=Role.GLOBAL_ADMIN))
    body = admin.get("/compliance/noncompliant/?region=all&sort=device").content.decode()
    assert _rows(body) == ["ALPHA", "BRAVO", "CHARLIE", "EU-PC"]
    eu = devices["EU-PC"].customer
    assert escape(eu.name) in body and f"/customers/{eu.tenant_id}/" not in body
