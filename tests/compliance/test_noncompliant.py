"""The cross-customer list of noncompliant devices: stored by the sweep as Graph reports them,
"since" kept across sweeps, scoped to the manager's region, filtered, paged and exported."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from accounts.models import Role
from audit.models import AuditEvent
from compliance.models import NoncompliantDevice
from compliance.services import compliance_sweep, sweep_start
from compliance.tally import Tally
from tests.factories import client_for, user_make

pytestmark = pytest.mark.django_db


# The position reads f"1{DASH}50 of 61", with an en dash.
DASH = "\u2013"


def _tally(*devices: dict) -> Tally:
    tally = Tally()
    long_ago = timezone.now() - timedelta(days=365)
    for device in devices:
        tally.add({"operatingSystem": "Windows", **device}, stale_before=long_ago)
    return tally


def _id(label: str) -> str:
    """A GUID per label, as Intune's device ids are."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, label))


def _bad(device_id: str, name: str, user: str = "ann@contoso.example", **more: str) -> dict:
    return {
        "id": _id(device_id),
        "deviceName": name,
        "userPrincipalName": user,
        "complianceState": "noncompliant",
        "lastSyncDateTime": "2026-11-30T08:00:00Z",
        **more,
    }


GOOD = {
    "id": "11111111-2222-4333-8444-555555555555",
    "deviceName": "FINE",
    "complianceState": "compliant",
}


@pytest.fixture
def manager(own_region):
    return client_for(user_make(region=own_region, role=Role.MANAGER))


def test_a_sweep_stores_every_noncompliant_device_graph_reports_and_no_other(
    sim, world, customers, regions
):
    from regions.clients import graph_as_app

    sweep, _ = sweep_start(requested_by="test")
    compliance_sweep(sweep_id=sweep.pk)
    customer = next(c for c in customers["us"] if c.relationship_status == "active")

    graph = graph_as_app(region=regions["us"], tenant_id=str(customer.tenant_id))
    truth = {
        d["id"]: d
        for d in graph.iter_items(
            "/deviceManagement/managedDevices",
            params={"$select": "id,deviceName,complianceState", "$top": 999},
        )
        if d["complianceState"] == "noncompliant"
    }
    stored = {d.device_id: d for d in NoncompliantDevice.objects.filter(customer=customer)}
    assert truth and set(stored) == set(truth)
    assert {d.device_name for d in stored.values()} == {d["deviceName"] for d in truth.values()}


def test_a_device_keeps_its_since_while_noncompliant_and_leaves_when_fixed(customers, record_sweep):
    customer = customers["us"][0]
    first_at = timezone.now() - timedelta(days=2)
    record_sweep({customer: _tally(_bad("d-1", "LAPTOP-1"), _bad("d-2", "LAPTOP-2"))}, first_at)
    later = timezone.now()
    record_sweep({customer: _tally(_bad("d-1", "LAPTOP-1 renamed"), GOOD)}, later)

    [still] = NoncompliantDevice.objects.filter(customer=customer)
    assert still.device_id == _id("d-1") and still.device_name == "LAPTOP-1 renamed"
    assert still.since == first_at and still.seen_at == later


def test_a_failed_sweep_keeps_the_customers_last_known_list(customers, record_sweep):
    customer = customers["us"][0]
    record_sweep({customer: _tally(_bad("d-1", "LAPTOP-1"))})
    record_sweep({customer: "Microsoft Graph refused access"})
    assert NoncompliantDevice.objects.filter(customer=customer).count() == 1


def test_a_manager_sees_only_their_regions_devices_whatever_they_ask_for(
    manager, customers, record_sweep
):
    us, eu = customers["us"][0], customers["eu"][0]
    record_sweep({us: _tally(_bad("us-1", "US-LAPTOP")), eu: _tally(_bad("eu-1", "EU-LAPTOP"))})

    for asked in ("", "all", "eu"):
        body = manager.get(f"/compliance/noncompliant/?region={asked}").content.decode()
        assert "US-LAPTOP" in body and "EU-LAPTOP" not in body, asked
        export = manager.get(f"/compliance/noncompliant.csv?region={asked}")
        text = b"".join(export.streaming_content).decode()
        assert "US-LAPTOP" in text and "EU-LAPTOP" not in text, asked


def test_the_list_filters_by_device_user_or_customer_and_by_os_and_pages_with_a_position(
    manager, customers, record_sweep
):
    us = customers["us"][0]
    devices = [_bad(f"d-{i}", f"PC-{i:03}") for i in range(60)]
    devices.append(_bad("mac-1", "MAC-ONE", user="bob@contoso.example", operatingSystem="macOS"))
    record_sweep({us: _tally(*devices)})

    first = manager.get("/compliance/noncompliant/").content.decode()
    assert f"1{DASH}50 of 61" in first and 'data-testid="noncompliant-next"' in first
    assert f"51{DASH}61 of 61" in manager.get("/compliance/noncompliant/?page=2").content.decode()
    by_user = manager.get("/compliance/noncompliant/?q=bob@").content.decode()
    assert "MAC-ONE" in by_user and "PC-001" not in by_user
    by_os = manager.get("/compliance/noncompliant/?os=macOS").content.decode()
    assert f"1{DASH}1 of 1" in by_os
    by_customer = manager.get(f"/compliance/noncompliant/?q={us.name[:6]}").content.decode()
    assert "61" in by_customer.split('data-testid="noncompliant-position">')[1][:40]


def test_the_export_defuses_formulas_and_is_audited(manager, customers, record_sweep):
    us = customers["us"][0]
    record_sweep({us: _tally(_bad("d-1", "=HYPERLINK(1)", user="+evil@x"))})

    export = manager.get("/compliance/noncompliant.csv")
    raw = b"".join(export.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))

    assert rows[0][:4] == ["region", "customer", "tenant_id", "device"]
    assert rows[1][3] == "'=HYPERLINK(1)" and rows[1][5] == "'+evil@x"
    assert AuditEvent.objects.filter(action="compliance.noncompliant_export").exists()


def test_agents_may_not_see_the_list(own_region, customers):
    agent = client_for(user_make(region=own_region, role=Role.AGENT))
    assert agent.get("/compliance/noncompliant/").status_code == 403
    assert agent.get("/compliance/noncompliant.csv").status_code == 403


def test_a_global_admin_sees_other_regions_devices_named_but_not_linked(
    customers, record_sweep, regions
):
    us, eu = customers["us"][0], customers["eu"][0]
    record_sweep({us: _tally(_bad("us-1", "US-LAPTOP")), eu: _tally(_bad("eu-1", "EU-LAPTOP"))})
    client = client_for(user_make(region=regions["us"], role=Role.GLOBAL_ADMIN))

    body = client.get("/compliance/noncompliant/?region=all").content.decode()

    assert "US-LAPTOP" in body and "EU-LAPTOP" in body and escape(eu.name) in body
    assert f"/customers/{eu.tenant_id}/" not in body
    assert f"/customers/{us.tenant_id}/managed-devices/{_id('us-1')}/" in body


def test_a_device_id_that_is_not_a_guid_is_not_stored(customers, record_sweep):
    customer = customers["us"][0]
    odd = {**_bad("x", "ODD"), "id": "../../etc"}
    record_sweep({customer: _tally(odd, _bad("d-1", "LAPTOP-1"))})
    assert list(NoncompliantDevice.objects.values_list("device_name", flat=True)) == ["LAPTOP-1"]


def _choices(page: str, name: str) -> list[str]:
    select = page.split(f'name="{name}"')[1].split("</select>")[0]
    return [part.split('"')[0] for part in select.split('<option value="')[2:]]


def test_the_filter_choices_are_read_once_and_follow_the_next_sweep_at_once(
    manager, customers, record_sweep
):
    us = customers["us"][0]
    record_sweep({us: _tally(_bad("d-1", "PC-1"))})
    first = manager.get("/compliance/noncompliant/").content.decode()
    assert _choices(first, "os") == ["Windows"]

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as again:
        manager.get("/compliance/noncompliant/")
    assert not [q for q in again.captured_queries if "DISTINCT" in q["sql"]]

    record_sweep({us: _tally(_bad("d-1", "PC-1"), _bad("m-1", "MAC-1", operatingSystem="macOS"))})
    after = manager.get("/compliance/noncompliant/").content.decode()
    assert sorted(_choices(after, "os")) == ["Windows", "macOS"]


def test_the_filter_choices_are_the_regions_own_and_a_global_admins_span_every_region(
    manager, own_region, customers, record_sweep
):
    us, eu = customers["us"][0], customers["eu"][0]
    record_sweep(
        {
            us: _tally(_bad("us-1", "US-PC")),
            eu: _tally(_bad("eu-1", "EU-PC", operatingSystem="Linux")),
        }
    )

    assert _choices(manager.get("/compliance/noncompliant/").content.decode(), "os") == ["Windows"]
    admin = client_for(user_make(region=own_region, role=Role.GLOBAL_ADMIN))
    every = admin.get("/compliance/noncompliant/?region=all").content.decode()
    assert sorted(_choices(every, "os")) == ["Linux", "Windows"]
    assert _choices(manager.get("/compliance/noncompliant/").content.decode(), "os") == ["Windows"]
