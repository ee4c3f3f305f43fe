"""One customer's compliance read live from Microsoft Graph (as the signed-in agent).

Counts per state are computed from managedDevices, not taken from
deviceCompliancePolicyDeviceStateSummary: the page lists devices from the same read, so its
counts, lists and OS breakdown always add up, and they are counted exactly as the background
sweep counts them (the dashboard agrees with this page). Intune's summary is a separately
refreshed aggregate; it is shown beside the counts as a cross-check, not as the source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from compliance.tally import COMPLIANCE_STATES, Tally
from mscloud.graph import BatchRequest, GraphClient

# Reference: https://learn.microsoft.com/en-us/graph/api/resources/intune-devices-manageddevice
DEVICE_FIELDS = (
    "id,deviceName,operatingSystem,osVersion,complianceState,lastSyncDateTime,"
    "userPrincipalName,userDisplayName,complianceGracePeriodExpirationDateTime"
)
LIST_LIMIT = 200  # devices shown per list; the counts cover every device
MAX_PAGES = 50  # 50,000 devices: beyond this the page would take too long to be useful

STATE_LABELS = {
    "compliant": "Compliant",
    "noncompliant": "Noncompliant",
    "inGracePeriod": "In grace period",
    "unknown": "Unknown",
    "conflict": "Conflict",
    "error": "Error",
    "configManager": "Managed by Configuration Manager",
}
# deviceCompliancePolicyDeviceStateSummary property per complianceState.
SUMMARY_KEYS = {
    "compliant": "compliantDeviceCount",
    "noncompliant": "nonCompliantDeviceCount",
    "inGracePeriod": "inGracePeriodCount",
    "unknown": "unknownDeviceCount",
    "conflict": "conflictDeviceCount",
    "error": "errorDeviceCount",
    "configManager": "configManagerCount",
}


@dataclass
class StateRow:
    state: str
    label: str
    devices: int
    summary: int | None


@dataclass
class CustomerCompliance:
    tally: Tally
    states: list[StateRow]
    noncompliant: list[dict[str, Any]] = field(default_factory=list)
    in_grace: list[dict[str, Any]] = field(default_factory=list)
    stale: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    truncated: bool = False
    stale_days: int = 30
    read_at: datetime | None = None

    @property
    def systems(self) -> list[tuple[str, int]]:
        """(operating system, devices), most devices first (a Counter confuses templates)."""
        return sorted(self.tally.systems.items(), key=lambda item: (-item[1], item[0]))

    @property
    def rate(self) -> float | None:
        rate = self.tally.compliance_rate
        return None if rate is None else round(100 * rate, 1)


def customer_compliance_read(*, graph: GraphClient, stale_days: int) -> CustomerCompliance:
    """Summary, policies and the first page of devices in one $batch, then the other pages."""
    params = f"$select={DEVICE_FIELDS}&$top={settings.COMPLIANCE_PAGE_SIZE}"
    answers = graph.batch(
        [
            BatchRequest(id="devices", url=f"/deviceManagement/managedDevices?{params}"),
            BatchRequest(
                id="summary", url="/deviceManagement/deviceCompliancePolicyDeviceStateSummary"
            ),
            BatchRequest(id="policies", url="/deviceManagement/deviceCompliancePolicies"),
        ]
    )
    first = answers["devices"]
    first.raise_for_status()  # no devices, no page: the caller shows Microsoft's refusal
    now = timezone.now()
    stale_before = now - timedelta(days=stale_days)
    report = CustomerCompliance(tally=Tally(), states=[], stale_days=stale_days, read_at=now)
    body = first.body or {}
    items = body.get("value") or []
    link = body.get("@odata.nextLink")
    skiptoken = graph.skiptoken_from_next_link(link) if link else None
    pages = 1
    while True:
        for device in items:
            _add(report, device, stale_before)
        if not skiptoken:
            break
        if pages >= MAX_PAGES:
            report.truncated = True
            break
        page = graph.get_page(
            "/deviceManagement/managedDevices",
            params={"$select": DEVICE_FIELDS, "$top": settings.COMPLIANCE_PAGE_SIZE},
            skiptoken=skiptoken,
        )
        items, skiptoken, pages = page.items, page.next_skiptoken, pages + 1
    summary = _optional(answers["summary"], report, "summary")
    policies = _optional(answers["policies"], report, "policies")
    report.policies = sorted(
        ({**p, "platform": policy_platform(p)} for p in (policies or {}).get("value") or []),
        key=lambda p: p.get("displayName") or "",
    )
    report.states = [
        StateRow(
            state=state,
            label=STATE_LABELS[state],
            devices=report.tally.states.get(state, 0),
            summary=summary.get(SUMMARY_KEYS[state]) if summary else None,
        )
        for state in COMPLIANCE_STATES
    ]
    for rows in (report.noncompliant, report.in_grace, report.stale):
        rows.sort(key=lambda d: d.get("lastSyncDateTime") or "")
    return report


def _add(report: CustomerCompliance, device: dict[str, Any], stale_before: datetime) -> None:
    stale = report.tally.add(device, stale_before=stale_before)
    state = device.get("complianceState")
    for wanted, rows in (("noncompliant", report.noncompliant), ("inGracePeriod", report.in_grace)):
        if state == wanted and len(rows) < LIST_LIMIT:
            rows.append(device)
    if stale and len(report.stale) < LIST_LIMIT:
        report.stale.append(device)


def _optional(answer: Any, report: CustomerCompliance, key: str) -> dict[str, Any] | None:
    if answer.ok:
        return answer.body or {}
    try:
        answer.raise_for_status()
    except Exception as exc:
        report.errors[key] = str(exc)
    return None


def policy_platform(policy: dict[str, Any]) -> str:
    """ "#microsoft.graph.windows10CompliancePolicy" -> "windows10"."""
    kind = str(policy.get("@odata.type") or "")
    return kind.removeprefix("#microsoft.graph.").removesuffix("CompliancePolicy") or "—"
