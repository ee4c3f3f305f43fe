"""Which compliance policies a noncompliant device fails, read by the sweep in $batch requests.

Intune serves a device's state per policy only as a navigation of the device
(/managedDevices/{id}/deviceCompliancePolicyStates): one request per device, so the sweep asks
for the noncompliant devices only, 20 to a $batch (one round trip), each item counted against
"Intune device configuration" limits, a service apart from the device list's. No ORM in here:
this runs on the sweep's worker threads.

# Reference: https://learn.microsoft.com/powershell/module/microsoft.graph.devicemanagement/get-mgdevicemanagementmanageddevicecompliancepolicystate
# Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice
# Reference: https://learn.microsoft.com/graph/throttling-limits#intune-device-configuration-service-limits
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from mscloud.batch import BatchRequest
from mscloud.errors import MicrosoftError
from mscloud.graph import GraphClient

log = logging.getLogger(__name__)

BATCH_SIZE = 20  # Graph's $batch limit
STATE_FIELDS = "displayName,state"
# complianceStatus values that mean "this policy is why the device is noncompliant".
FAILING_STATES = frozenset({"noncompliant", "error"})
# An item refused for the app itself: every other device of the tenant would be refused too.
_REFUSED = frozenset({401, 403})


@dataclass
class PolicyRead:
    # Failing policy names per device id read; a device absent here is "unknown".
    failing: dict[str, list[str]] = field(default_factory=dict)
    requests: int = 0  # $batch round trips
    error: str = ""  # why some devices stayed unknown (a sentence, for the log)


def failing_policies_read(
    *,
    graph: GraphClient,
    device_ids: Sequence[str],
) -> PolicyRead:
    """The failing policy names of each device, 20 devices per $batch; never raises: what
    could not be read is left out (unknown) and said in `error`. Each item spends Intune's
    device configuration budget: the client's gate paces them (regions.throttle)."""
    read = PolicyRead()
    for start in range(0, len(device_ids), BATCH_SIZE):
        chunk = list(device_ids[start : start + BATCH_SIZE])
        requests = [
            BatchRequest(
                id=str(i),
                url=f"/deviceManagement/managedDevices/{device_id}/deviceCompliancePolicyStates"
                f"?$select={STATE_FIELDS}",
            )
            for i, device_id in enumerate(chunk)
        ]
        read.requests += 1
        try:
            answers = graph.batch(requests)
        except MicrosoftError as exc:
            read.error = f"Microsoft Graph did not answer the policy states: {exc}"
            break
        refused = False
        for i, device_id in enumerate(chunk):
            answer = answers[str(i)]
            if not answer.ok:
                refused = refused or answer.status in _REFUSED
                if not read.error:
                    read.error = (
                        f"Microsoft Graph answered a policy state with HTTP {answer.status}."
                    )
                continue
            read.failing[device_id] = failing_names((answer.body or {}).get("value") or [])
        if refused:
            break  # the app may not read policy states here: no point asking for the rest
    return read


def failing_names(states: list[dict]) -> list[str]:
    """The names of the policies in a failing state, sorted, each once."""
    names = {
        str(s.get("displayName") or "").strip()[:256]
        for s in states
        if isinstance(s, dict) and str(s.get("state") or "").casefold() in FAILING_STATES
    }
    return sorted(n for n in names if n)
