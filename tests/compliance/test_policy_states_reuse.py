"""A noncompliant device's policy states are read again only when the device has checked in
since they were read (its lastSyncDateTime moved), or when they are older than
COMPLIANCE_POLICY_REFRESH_HOURS: Intune evaluates compliance on the device at check-in, so
a device that has not checked in shows the states it showed (issue 18: a steady sweep costs a
token and the device pages, nothing per noncompliant device).

# Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice
#   (lastSyncDateTime: "The date and time that the device last completed a successful sync
#   with Intune")
# Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-syncdevice
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from compliance.models import ComplianceSweep, NoncompliantDevice
from compliance.services import compliance_sweep, sweep_start
from regions.permissions import ACTION_SCOPES, CUSTOMER_READ_PERMISSIONS
from simulator.graph.entities import DEVICE_ACTION_SECONDS

AGENT = "agent@contosopartners.com"
STATES = "/deviceManagement/managedDevices/{id}/deviceCompliancePolicyStates"


def _tenant(world: dict[str, Any]) -> str:
    us = next(r for r in world["regions"] if r["slug"] == "us")
    return next(
        c["tenant_id"]
        for c in us["customers"]
        if c["relationship"]["type"] == "gdap"
        and c["relationship"]["status"] == "active"
        and not c.get("big")
    )


def _sweep() -> ComplianceSweep:
    sweep, _ = sweep_start(requested_by="test")
    done = compliance_sweep(sweep_id=sweep.pk)
    assert done is not None and done.status == "done", done and done.error
    return done


def _state_reads(sim: Any, tenant: str) -> list[str]:
    """The device ids whose policy states the tenant's $batch requests asked for."""
    return [
        item["path"].split("/")[3]
        for r in sim.requests()["requests"]
        if r["tenant"] == tenant and r["kind"] == "graph" and r["path"].endswith("$batch")
        for item in r["items"]
    ]


def _stored(tenant: str) -> dict[str, tuple[list[str], Any]]:
    return {
        d.device_id: (sorted(p.name for p in d.failing_policies.all()), d.policies_read_at)
        for d in NoncompliantDevice.objects.filter(customer__tenant_id=tenant)
    }


@pytest.mark.django_db(transaction=True)
def test_a_second_sweep_reuses_the_policy_states_of_devices_that_have_not_checked_in(
    sim, world, regions, customers
):
    tenant = _tenant(world)
    _sweep()
    first = _stored(tenant)
    assert first and all(read_at is not None for _, read_at in first.values())
    sim.reset()  # an empty request log; the generated world is the same

    _sweep()

    assert _state_reads(sim, tenant) == []
    assert _stored(tenant) == first  # the same failing policies, read at the same moment
    assert NoncompliantDevice.objects.filter(customer__tenant_id=tenant, policies_read=True).count()


@pytest.mark.django_db(transaction=True)
def test_a_device_that_checked_in_since_has_its_policy_states_read_again_alone(
    sim, world, regions, customers, sign_in
):
    tenant = _tenant(world)
    _sweep()
    first = _stored(tenant)
    device_id = sorted(first)[0]
    # An agent asks the device to sync from its page; the consent holds the action scopes
    # (as the portal's own consent asks for them).
    sim.consent(tenant, consented=True, scopes=[*CUSTOMER_READ_PERMISSIONS, *ACTION_SCOPES])
    asked = sign_in(AGENT).post(
        f"/customers/{tenant}/managed-devices/{device_id}/actions/sync/",
        {"key": str(uuid.uuid4())},
    )
    assert asked.status_code == 302
    time.sleep(DEVICE_ACTION_SECONDS + 0.5)  # the device reports the sync: it checked in
    before = len(sim.requests()["requests"])

    _sweep()

    reads = [
        r
        for r in sim.requests()["requests"][before:]
        if r["tenant"] == tenant and r["kind"] == "graph" and r["path"].endswith("$batch")
    ]
    assert [i["path"] for r in reads for i in r["items"]] == [STATES.format(id=device_id)]
    after = _stored(tenant)
    assert after[device_id][0] == first[device_id][0]
    assert after[device_id][1] > first[device_id][1]  # read again
    assert {k: v for k, v in after.items() if k != device_id} == {
        k: v for k, v in first.items() if k != device_id
    }


@pytest.mark.django_db(transaction=True)
def test_policy_states_older_than_the_refresh_are_read_again(
    sim, world, regions, customers, settings
):
    tenant = _tenant(world)
    _sweep()
    first = _stored(tenant)
    settings.COMPLIANCE_POLICY_REFRESH_HOURS = 0
    sim.reset()

    _sweep()

    assert sorted(_state_reads(sim, tenant)) == sorted(first)
    assert all(_stored(tenant)[d][1] > first[d][1] for d in first)
