"""The policies a noncompliant device fails: read by the sweep for the noncompliant devices only,
20 to a $batch, stored on the cross-customer list's rows, shown and filtered there and in the
CSV; a refused or failed read leaves them "unknown" and the sweep succeeded.

# Reference: https://learn.microsoft.com/powershell/module/microsoft.graph.devicemanagement/get-mgdevicemanagementmanageddevicecompliancepolicystate
#   (v1.0: GET /deviceManagement/managedDevices/{managedDeviceId}/deviceCompliancePolicyStates)
# Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice
#   (deviceCompliancePolicyState.state is a complianceStatus: nonCompliant, error, compliant…)
# Reference: https://learn.microsoft.com/graph/json-batching (at most 20 requests per batch)
# Reference: https://learn.microsoft.com/graph/throttling-limits#intune-service-limits
"""

from __future__ import annotations

import csv
import io
import math
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Role
from compliance.collect import Outcome
from compliance.models import ComplianceSnapshot, ComplianceSweep, NoncompliantDevice
from compliance.policy_states import failing_names
from compliance.services import compliance_sweep, snapshots_record, sweep_start
from compliance.tally import Tally
from regions.clients import graph_as_app
from regions.permissions import CUSTOMER_READ_PERMISSIONS
from tests.factories import chunk_claimed, client_for, user_make

STATES = "/deviceManagement/managedDevices/{id}/deviceCompliancePolicyStates"
CONFIGURATION_READ = "DeviceManagementConfiguration.Read.All"


def _active_tenants(world: dict[str, Any]) -> list[str]:
    us = next(r for r in world["regions"] if r["slug"] == "us")
    return [
        c["tenant_id"]
        for c in us["customers"]
        if c["relationship"]["type"] == "gdap"
        and c["relationship"]["status"] == "active"
        and not c.get("big")
    ]


def _sweep() -> ComplianceSweep:
    sweep, _ = sweep_start(requested_by="test")
    done = compliance_sweep(sweep_id=sweep.pk)
    assert done is not None
    return done


def _graph_requests(log: dict[str, Any], tenant: str) -> list[dict[str, Any]]:
    return [r for r in log["requests"] if r["tenant"] == tenant and r["kind"] == "graph"]


@pytest.mark.django_db(transaction=True)
def test_a_sweep_stores_the_policies_each_noncompliant_device_fails_in_batches_of_twenty(
    sim, world, regions, customers
):
    tenant = _active_tenants(world)[0]
    sim.reset()  # a fresh request log, so this tenant's requests are all in it

    sweep = _sweep()

    assert sweep.status == "done"
    swept = _graph_requests(sim.requests(), tenant)
    stored = list(NoncompliantDevice.objects.filter(customer__tenant_id=tenant))
    assert stored
    graph = graph_as_app(region=regions["us"], tenant_id=tenant)
    for device in stored:
        truth = graph.get(STATES.format(id=device.device_id))["value"]
        assert device.policies_read
        assert sorted(p.name for p in device.failing_policies.all()) == failing_names(truth)
        # The simulator's noncompliant devices fail at least one policy of their platform.
        assert device.failing_policies.exists()
    # Round trips: the device pages, then one $batch per 20 noncompliant devices (each item
    # one policy-state read, of noncompliant devices only).
    made = [r for r in swept if r["path"].endswith("$batch")]
    assert len(made) == math.ceil(len(stored) / 20)
    inner = sorted(i["path"] for r in made for i in r["items"])
    assert inner == sorted(STATES.format(id=d.device_id) for d in stored)
    assert all(len(r["items"]) <= 20 for r in made)
    snapshot = ComplianceSnapshot.objects.get(sweep=sweep, customer__tenant_id=tenant)
    assert snapshot.requests == len(swept)  # measured: pages and batches, as Graph counts


@pytest.mark.django_db(transaction=True)
def test_a_refused_policy_state_read_leaves_the_devices_unknown_and_the_sweep_succeeded(
    sim, world, regions, customers
):
    """The customer consented the app without DeviceManagementConfiguration.Read.All: the
    devices read, their policy states are refused (Intune's 403) after one $batch."""
    tenant = _active_tenants(world)[0]
    roles = [p for p in CUSTOMER_READ_PERMISSIONS if p != CONFIGURATION_READ]
    sim.consent(tenant, consented=True, scopes=roles, app_roles=roles)

    sweep = _sweep()

    assert sweep.status == "done"
    snapshot = ComplianceSnapshot.objects.get(sweep=sweep, customer__tenant_id=tenant)
    assert snapshot.ok, snapshot.error
    stored = NoncompliantDevice.objects.filter(customer__tenant_id=tenant)
    assert stored.exists()
    assert not stored.filter(policies_read=True).exists()
    assert not stored.filter(failing_policies__isnull=False).exists()
    batches = [
        r
        for r in _graph_requests(sim.requests(), tenant)
        if r["path"].endswith("$batch") and r["status"] == 200
    ]
    assert len(batches) == 1  # refused: the rest of the devices are not asked for


@pytest.mark.django_db(transaction=True)
def test_a_throttled_policy_state_read_leaves_the_unread_devices_unknown_and_the_sweep_succeeded(
    sim, world, regions, customers
):
    """Intune allows one request per service in this tenant for two minutes: the device page
    reads, the first policy state too, the others answer 429 with a Retry-After beyond the
    client's budget; the sweep does not wait for them."""
    tenant = _active_tenants(world)[0]
    sim.faults(tenant=tenant, intune_limits={"any_app": 1, "any_tenant": 1, "window": 120})

    sweep = _sweep()

    assert sweep.status == "done"
    snapshot = ComplianceSnapshot.objects.get(sweep=sweep, customer__tenant_id=tenant)
    assert snapshot.ok, snapshot.error
    stored = NoncompliantDevice.objects.filter(customer__tenant_id=tenant)
    assert stored.count() > 1
    assert stored.filter(policies_read=True).count() <= 1
    assert stored.filter(policies_read=False).count() >= stored.count() - 1
    throttled = [
        i
        for r in _graph_requests(sim.requests(), tenant)
        if r["path"].endswith("$batch")
        for i in r["items"]
        if i["status"] == 429
    ]
    assert throttled


# -- the list and the CSV, from stored sweeps (no Microsoft) --------------------------------


def _id(label: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, label))


def _bad(label: str, name: str) -> dict:
    return {
        "id": _id(label),
        "deviceName": name,
        "userPrincipalName": "ann@contoso.example",
        "complianceState": "noncompliant",
        "operatingSystem": "Windows",
        "lastSyncDateTime": "2026-11-30T08:00:00Z",
    }


def _record(customer, devices: list[dict], policies: dict[str, list[str]]) -> None:
    tally = Tally()
    for d in devices:
        tally.add(d, stale_before=timezone.now() - timedelta(days=365))
    sweep = ComplianceSweep.objects.create(
        status=ComplianceSweep.Status.RUNNING, started_at=timezone.now(), scope=uuid.uuid4().hex
    )
    outcome = Outcome(
        customer_id=customer.pk,
        region_id=customer.region_id,
        taken_at=timezone.now(),
        tally=tally,
        policies=policies,
    )
    snapshots_record(chunk=chunk_claimed(sweep), outcomes=[outcome])


@pytest.fixture
def listed(own_region, stored_customers):
    customer = stored_customers["us"][0]
    _record(
        customer,
        [_bad("a", "PC-BITLOCKER"), _bad("b", "PC-PASSWORD"), _bad("c", "PC-UNREAD")],
        {
            _id("a"): ["Windows - BitLocker", "Windows - Defender"],
            _id("b"): ["Windows - Password"],
            # c: its policy states could not be read
        },
    )
    return client_for(user_make(region=own_region, role=Role.MANAGER))


def _rows(body: str) -> dict[str, str]:
    """device name -> its "Policy failing" cell."""
    rows = {}
    for chunk in body.split("<tr data-device=")[1:]:
        name = next(n for n in ("PC-BITLOCKER", "PC-PASSWORD", "PC-UNREAD") if n in chunk)
        cell = chunk.split('data-testid="noncompliant-policies">', 1)[1].split("</td>", 1)[0]
        rows[name] = cell
    return rows


@pytest.mark.django_db
def test_the_list_shows_each_devices_failing_policies_or_unknown(listed):
    body = listed.get("/compliance/noncompliant/").content.decode()

    rows = _rows(body)
    assert rows["PC-BITLOCKER"] == "Windows - BitLocker, Windows - Defender"
    assert rows["PC-PASSWORD"] == "Windows - Password"
    assert "unknown" in rows["PC-UNREAD"]
    choices = body.split('data-testid="noncompliant-policy"', 1)[1].split("</select>", 1)[0]
    for name in ("Windows - BitLocker", "Windows - Defender", "Windows - Password"):
        assert f'<option value="{name}"' in choices


@pytest.mark.django_db
def test_the_list_and_the_csv_filter_by_a_failing_policy(listed):
    body = listed.get("/compliance/noncompliant/?policy=Windows+-+Defender").content.decode()
    assert set(_rows(body)) == {"PC-BITLOCKER"}
    assert "policy=Windows+-+Defender" in body  # kept in the export link and the pages

    export = listed.get("/compliance/noncompliant.csv?policy=Windows+-+Password")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [(r["device"], r["policies_failing"]) for r in rows] == [
        ("PC-PASSWORD", "Windows - Password")
    ]


@pytest.mark.django_db
def test_the_csv_names_every_failing_policy_and_says_unknown_when_unread(listed):
    export = listed.get("/compliance/noncompliant.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    by_device = {r["device"]: r["policies_failing"] for r in rows}
    assert by_device == {
        "PC-BITLOCKER": "Windows - BitLocker; Windows - Defender",
        "PC-PASSWORD": "Windows - Password",
        "PC-UNREAD": "unknown",
    }


@pytest.mark.django_db
def test_a_later_sweep_replaces_the_failing_policies(own_region, stored_customers, listed):
    customer = stored_customers["us"][0]
    _record(customer, [_bad("a", "PC-BITLOCKER")], {_id("a"): ["Windows - Defender"]})
    [device] = NoncompliantDevice.objects.filter(customer=customer)
    assert [p.name for p in device.failing_policies.all()] == ["Windows - Defender"]


def test_only_guid_device_ids_are_put_into_a_policy_state_url():
    from compliance.collect import _guid

    assert _guid("0f8fad5b-d9cb-469f-a165-70867728950e")
    assert _guid("0F8FAD5B-D9CB-469F-A165-70867728950E")
    for odd in (
        "../../etc",
        "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
        "{0f8fad5b-d9cb-469f-a165-70867728950e}",
        "",
    ):
        assert not _guid(odd), odd


def _outcome(customer, devices: list[dict], policies: dict[str, list[str]]) -> Outcome:
    tally = Tally()
    for d in devices:
        tally.add(d, stale_before=timezone.now() - timedelta(days=365))
    return Outcome(
        customer_id=customer.pk,
        region_id=customer.region_id,
        taken_at=timezone.now(),
        tally=tally,
        policies=policies,
    )


@pytest.mark.django_db
def test_one_batch_of_several_customers_replaces_each_customers_list_and_policies_alone(
    stored_customers,
):
    first, second, third = stored_customers["us"][:3]

    def sweep() -> ComplianceSweep:
        return ComplianceSweep.objects.create(
            status=ComplianceSweep.Status.RUNNING,
            started_at=timezone.now(),
            scope=uuid.uuid4().hex,
        )

    snapshots_record(
        chunk=chunk_claimed(sweep()),
        outcomes=[
            _outcome(first, [_bad("a", "A"), _bad("b", "B")], {_id("a"): ["P1"], _id("b"): ["P2"]}),
            _outcome(second, [_bad("c", "C")], {_id("c"): ["P3"]}),
            _outcome(third, [_bad("d", "D")], {}),
        ],
    )
    since_a = NoncompliantDevice.objects.get(customer=first, device_id=_id("a")).since

    # The next batch: the first keeps a (new policy) and loses b, the second has no
    # noncompliant device left, the third's d is read this time.
    snapshots_record(
        chunk=chunk_claimed(sweep()),
        outcomes=[
            _outcome(first, [_bad("a", "A")], {_id("a"): ["P4"]}),
            _outcome(second, [], {}),
            _outcome(third, [_bad("d", "D")], {_id("d"): ["P5", "P6"]}),
        ],
    )

    listed = {
        (d.customer_id, d.device_name): sorted(p.name for p in d.failing_policies.all())
        for d in NoncompliantDevice.objects.filter(customer__in=[first, second, third])
    }
    assert listed == {(first.pk, "A"): ["P4"], (third.pk, "D"): ["P5", "P6"]}
    assert NoncompliantDevice.objects.get(customer=first, device_id=_id("a")).since == since_a


@pytest.mark.django_db
def test_a_batch_like_the_last_only_moves_seen_at_and_a_change_writes_only_itself(
    stored_customers,
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from compliance.models import NoncompliantPolicy

    customer = stored_customers["us"][0]
    devices = [_bad("a", "A"), _bad("b", "B")]
    policies = {_id("a"): ["P1", "P2"], _id("b"): ["P3"]}

    def record(devices: list[dict], policies: dict[str, list[str]]) -> list[str]:
        sweep = ComplianceSweep.objects.create(
            status=ComplianceSweep.Status.RUNNING, started_at=timezone.now(), scope=uuid.uuid4().hex
        )
        with CaptureQueriesContext(connection) as ctx:
            snapshots_record(
                chunk=chunk_claimed(sweep), outcomes=[_outcome(customer, devices, policies)]
            )
        return [
            q["sql"].split(" (")[0]
            for q in ctx.captured_queries
            if q["sql"].startswith(
                ('INSERT INTO "compliance_noncompliant', 'DELETE FROM "compliance_noncompliant')
            )
        ]

    record(devices, policies)
    before = {p.pk: (p.device.device_id, p.name) for p in NoncompliantPolicy.objects.all()}
    first_seen = NoncompliantDevice.objects.get(device_id=_id("a")).seen_at

    assert record(devices, policies) == []  # nothing inserted or deleted again
    a = NoncompliantDevice.objects.get(device_id=_id("a"))
    assert a.seen_at > first_seen and a.since == first_seen
    assert {p.pk: (p.device.device_id, p.name) for p in NoncompliantPolicy.objects.all()} == before

    renamed = [{**_bad("a", "A"), "deviceName": "A renamed"}, _bad("b", "B")]
    written = record(renamed, {_id("a"): ["P1"], _id("b"): ["P3"]})
    assert not [w for w in written if w.startswith("INSERT") and "policy" in w]
    assert NoncompliantDevice.objects.get(device_id=_id("a")).device_name == "A renamed"
    after = {p.pk: (p.device.device_id, p.name) for p in NoncompliantPolicy.objects.all()}
    assert after == {pk: v for pk, v in before.items() if v != (_id("a"), "P2")}
