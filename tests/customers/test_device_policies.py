"""Compliance per policy on the Intune device page: each compliance policy of the device with
its state as Graph has it, read in the same $batch as the device (the page's round trips do
not grow); a policy list Graph refuses is a sentence and the rest of the page stays.

# Reference: https://learn.microsoft.com/powershell/module/microsoft.graph.devicemanagement/get-mgdevicemanagementmanageddevicecompliancepolicystate
#   (v1.0: GET /deviceManagement/managedDevices/{managedDeviceId}/deviceCompliancePolicyStates)
# Reference: https://learn.microsoft.com/graph/json-batching
"""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest

from customers.services import customers_sync, sync_run_start
from regions.clients import graph_as_app
from regions.permissions import CUSTOMER_READ_PERMISSIONS

pytestmark = pytest.mark.django_db

AGENT = "agent@contosopartners.com"
CONFIGURATION_READ = "DeviceManagementConfiguration.Read.All"
STATES = "/deviceManagement/managedDevices/{id}/deviceCompliancePolicyStates"


@pytest.fixture
def synced(regions: dict[str, Any]) -> None:
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)


@pytest.fixture
def tenant(world: dict[str, Any]) -> str:
    """A GDAP customer of the US region whose app is consented and the agent holds Intune
    Administrator there through its groups."""
    us = next(r for r in world["regions"] if r["slug"] == "us")
    return next(
        c["tenant_id"]
        for c in us["customers"]
        if c["relationship"]["type"] == "gdap"
        and c["relationship"]["status"] == "active"
        and not c.get("big")
    )


def graph_of(regions: dict[str, Any], tenant: str) -> Any:
    return graph_as_app(region=regions["us"], tenant_id=tenant)


def managed_devices(regions, tenant: str, **params: str) -> list[dict[str, Any]]:
    query = {"$select": "id,deviceName,complianceState", "$top": "1000", **params}
    return graph_of(regions, tenant).get("/deviceManagement/managedDevices", params=query)["value"]


def policy_rows(page: str) -> list[tuple[str, str]]:
    """(policy name, state) of each row of the page's compliance policies table."""
    card = page.split('data-testid="device-policies"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'data-testid="device-policy" data-state="([^"]*)">\s*'
        r'<td class="text-break" data-testid="policy-name">([^<]*)</td>',
        card,
    )
    return [(html_lib.unescape(name), state) for state, name in rows]


def graph_requests(sim: Any, tenant: str) -> list[dict[str, Any]]:
    return [r for r in sim.requests()["requests"] if r["tenant"] == tenant and r["kind"] == "graph"]


def test_the_device_page_lists_each_policy_with_its_state_as_graph_has_it(
    sign_in, regions, synced, tenant
):
    graph = graph_of(regions, tenant)
    client = sign_in(AGENT)

    for device in managed_devices(regions, tenant)[:6]:
        states = graph.get(
            STATES.format(id=device["id"]), params={"$select": "displayName,state,settingCount"}
        )["value"]
        page = client.get(f"/customers/{tenant}/managed-devices/{device['id']}/")

        html = page.content.decode()
        assert page.status_code == 200
        assert states, device  # every generated device has its platform's policy
        assert policy_rows(html) == [(s["displayName"], s["state"]) for s in states]
        card = html.split('data-testid="device-policies"', 1)[1].split("</table>", 1)[0]
        for state in states:
            assert f'<td class="text-end">{state["settingCount"]}</td>' in card
        assert 'data-testid="section-error"' not in html
        assert "per-policy results are not shown" not in html


def test_a_noncompliant_device_shows_a_noncompliant_policy_with_a_red_badge(
    sign_in, regions, synced, tenant
):
    [device] = managed_devices(regions, tenant, **{"$filter": "complianceState eq 'noncompliant'"})[
        :1
    ]

    html = sign_in(AGENT).get(f"/customers/{tenant}/managed-devices/{device['id']}/")

    page = html.content.decode()
    assert "nonCompliant" in {state for _, state in policy_rows(page)}, policy_rows(page)
    row = page.split('data-state="nonCompliant"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="badge text-bg-danger">Noncompliant</span>' in row
    # The device's own overall state stays above the table.
    assert "Noncompliant" in page.split('data-testid="device-compliance"', 1)[1].split("</p>")[0]


def test_a_compliant_device_shows_no_failing_policy(sign_in, regions, synced, tenant):
    device = managed_devices(regions, tenant, **{"$filter": "complianceState eq 'compliant'"})[0]

    page = sign_in(AGENT).get(f"/customers/{tenant}/managed-devices/{device['id']}/")

    states = {state for _, state in policy_rows(page.content.decode())}
    assert states == {"compliant"}


def test_the_policies_come_in_the_devices_batch_so_the_page_makes_two_round_trips(
    sim, sign_in, regions, synced, tenant
):
    """Before: GET the device, then the Entra device lookup. Now the device and its policy
    states share one $batch; the Entra lookup stays the second round trip."""
    device = managed_devices(regions, tenant)[0]
    client = sign_in(AGENT)
    url = f"/customers/{tenant}/managed-devices/{device['id']}/"
    client.get(url)  # tokens and the agent's GDAP groups are fetched and cached
    before = len(graph_requests(sim, tenant))

    assert client.get(url).status_code == 200

    made = graph_requests(sim, tenant)[before:]
    assert [(r["method"], r["path"]) for r in made] == [
        ("POST", "/graph/v1.0/$batch"),
        ("GET", "/graph/v1.0/devices"),
    ]
    inner = sorted(item["path"] for item in made[0]["items"])
    assert inner == [
        f"/deviceManagement/managedDevices/{device['id']}",
        STATES.format(id=device["id"]),
    ]


def test_a_refused_policy_list_is_a_sentence_and_the_rest_of_the_page_stays(
    sim, sign_in, regions, synced, tenant
):
    """The customer consented to the app without DeviceManagementConfiguration.Read.All: the
    device reads, its policy states are refused (Intune's 403), the Entra device still shows."""
    reads = [p for p in CUSTOMER_READ_PERMISSIONS if p != CONFIGURATION_READ]
    sim.consent(tenant, consented=True, scopes=reads)
    device = managed_devices(regions, tenant, **{"$select": "id,deviceName"})[0]

    page = sign_in(AGENT).get(f"/customers/{tenant}/managed-devices/{device['id']}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-testid="device-name">{html_lib.escape(device["deviceName"])}<' in html
    card = html.split('data-testid="device-policies"', 1)[1].split("</div></div>", 1)[0]
    error = card.split('data-testid="section-error">', 1)[1].split("</p>", 1)[0]
    assert error.startswith("Could not be read: ") and CONFIGURATION_READ in error
    assert "{" not in error  # Intune's JSON is read, not pasted
    assert policy_rows(html) == []
    entra = html.split('data-testid="entra-device"', 1)[1].split("</dd>", 1)[0]
    assert "enabled" in entra or "disabled" in entra
    assert 'data-testid="actions-panel"' in html
