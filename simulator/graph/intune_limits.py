"""Microsoft Graph's Intune service limits: every request under /deviceManagement counts.

Reference: https://learn.microsoft.com/graph/throttling-limits#intune-service-limits
Each Intune service has its own limits, over 20 seconds: writes (POST, PUT, DELETE, PATCH)
and any request, each per tenant for all apps and per app per tenant. The numbers and their
overrides live in simulator.faults (`intune_limits`); this module says which service a
request is for and answers Graph's 429. The simulator's Intune routes belong to two services:
"Intune devices" (managedDevice, managedDeviceOverview) and "Intune device configuration"
(deviceCompliancePolicy, deviceCompliancePolicyDeviceStateSummary, deviceCompliancePolicyState
- a managed device's per-policy states - and deviceManagement itself).
Every inner request of a $batch passes through here on its own, as Graph counts them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request

from simulator.graph.errors import throttled

if TYPE_CHECKING:
    from simulator.context import SimContext

PREFIX = "deviceManagement"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The segment after /deviceManagement, by the service whose resource list names it.
SERVICE_OF_SEGMENT = {
    "manageddevices": "devices",
    "manageddeviceoverview": "devices",
    "detectedapps": "devices",
    "devicecompliancepolicies": "device_configuration",
    "devicecompliancepolicydevicestatesummary": "device_configuration",
    "deviceconfigurations": "device_configuration",
}
# Navigations of a managed device that the page lists under another service:
# /managedDevices/{id}/deviceCompliancePolicyStates is "Intune device configuration".
SERVICE_OF_NAVIGATION = {
    ("manageddevices", "devicecompliancepolicystates"): "device_configuration",
}
# A /deviceManagement path of no listed service: the stricter set, never a kinder one.
FALLBACK_SERVICE = "device_configuration"


def service_of(path: str) -> str | None:
    """The Intune service of a request path (`/graph/{version}/deviceManagement/...`), or
    None for any other part of Graph."""
    parts = path.strip("/").split("/")
    # ["graph", version, "deviceManagement", segment, ...]
    if len(parts) < 3 or parts[0] != "graph" or parts[2].casefold() != PREFIX.casefold():
        return None
    segment = parts[3].casefold() if len(parts) > 3 else ""
    if len(parts) > 5:
        # ["graph", version, "deviceManagement", segment, key, navigation, ...]
        service = SERVICE_OF_NAVIGATION.get((segment, parts[5].casefold()))
        if service is not None:
            return service
    return SERVICE_OF_SEGMENT.get(segment, FALLBACK_SERVICE)


def check(ctx: SimContext, request: Request, app_id: str, tenant_id: str) -> None:
    """Count an Intune request of this app in this tenant; Graph's 429 with Retry-After when
    one of its service's windows is full. Requests outside /deviceManagement pass untouched."""
    service = service_of(request.path)
    if service is None:
        return
    write = request.method.upper() in WRITE_METHODS
    retry_after = ctx.faults.intune_request(service, app_id, tenant_id, write=write)
    if retry_after is not None:
        raise throttled(retry_after)
