"""Intune handlers under /deviceManagement: managed devices, compliance policies, summaries.

Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from simulator.graph import auth, entities
from simulator.graph.errors import intune_not_found, intune_url
from simulator.graph.responses import collection_response, entity_response, object_response

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import Tenant

Item = dict[str, Any]


def managed_devices(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request, intune=auth.MANAGED_DEVICES)
    caller.require(auth.MANAGED_DEVICES, roles=auth.ROLES_INTUNE_READ, intune=True)
    coll = entities.managed_device_set(ctx, caller.tenant, version)
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def managed_device_find(
    ctx: SimContext, tenant: Tenant, version: str
) -> Callable[[str], Item | None]:
    """Look a managed device up by id as Graph shows it now (writes laid over)."""
    data = entities.data_for(ctx, tenant)
    coll = entities.managed_device_set(ctx, tenant, version, lookup=True)

    def find(device_id: str) -> Item | None:
        index = data.managed_device_index(device_id)
        return None if index is None else coll.item(index)

    return find


def managed_device(ctx: SimContext, request: Request, *, version: str, device_id: str) -> Response:
    caller = auth.authenticate(ctx, request, intune=auth.MANAGED_DEVICES)
    caller.require(auth.MANAGED_DEVICES, roles=auth.ROLES_INTUNE_READ, intune=True)
    coll = entities.managed_device_set(ctx, caller.tenant, version)
    row = managed_device_find(ctx, caller.tenant, version)(device_id)
    if row is None:
        raise intune_not_found(intune_url("deviceManagement/managedDevices", device_id))
    return entity_response(ctx, request, version, coll, row)


def device_compliance_policy_states(
    ctx: SimContext, request: Request, *, version: str, device_id: str
) -> Response:
    """A managed device's state per compliance policy (v1.0 and beta).

    Microsoft documents no permission for this navigation: it hangs off managedDevices
    (DeviceManagementManagedDevices.*) and its deviceCompliancePolicyState belongs to
    "Intune device configuration" (DeviceManagementConfiguration.*), so the simulator asks
    for both, never kinder than either reading. Counted by that service's limits
    (simulator.graph.intune_limits).
    Reference: https://learn.microsoft.com/powershell/module/microsoft.graph.devicemanagement/get-mgdevicemanagementmanageddevicecompliancepolicystate
    Reference: https://learn.microsoft.com/graph/throttling-limits#intune-device-configuration-service-limits
    """
    caller = auth.authenticate(
        ctx, request, intune=(*auth.MANAGED_DEVICES, *auth.DEVICE_CONFIGURATION)
    )
    caller.require(auth.MANAGED_DEVICES, roles=auth.ROLES_INTUNE_READ, intune=True)
    caller.require(auth.DEVICE_CONFIGURATION, roles=auth.ROLES_INTUNE_READ, intune=True)
    device = managed_device_find(ctx, caller.tenant, version)(device_id)
    if device is None:
        path = (
            f"deviceManagement/managedDevices%28%27{device_id}%27%29/deviceCompliancePolicyStates"
        )
        raise intune_not_found(intune_url(path))
    data = entities.data_for(ctx, caller.tenant)
    coll = entities.device_compliance_policy_states(data, device, version)
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def compliance_policies(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request, intune=auth.DEVICE_CONFIGURATION)
    caller.require(auth.DEVICE_CONFIGURATION, roles=auth.ROLES_INTUNE_READ, intune=True)
    coll = entities.compliance_policies(entities.data_for(ctx, caller.tenant))
    return collection_response(ctx, request, version, coll, caller.tenant.id)


def compliance_state_summary(ctx: SimContext, request: Request, *, version: str) -> Response:
    """Counts that add up to the managed devices' complianceState values."""
    caller = auth.authenticate(ctx, request, intune=auth.DEVICE_CONFIGURATION)
    caller.require(auth.DEVICE_CONFIGURATION, roles=auth.ROLES_INTUNE_READ, intune=True)
    counts = entities.data_for(ctx, caller.tenant).compliance_counts()
    body = {
        "id": "deviceCompliancePolicyDeviceStateSummary",
        "inGracePeriodCount": counts["inGracePeriod"],
        "configManagerCount": counts["configManager"],
        "unknownDeviceCount": counts["unknown"],
        "notApplicableDeviceCount": 0,
        "compliantDeviceCount": counts["compliant"],
        "remediatedDeviceCount": 0,
        "nonCompliantDeviceCount": counts["noncompliant"],
        "errorDeviceCount": counts["error"],
        "conflictDeviceCount": counts["conflict"],
    }
    fragment = "deviceManagement/deviceCompliancePolicyDeviceStateSummary/$entity"
    return object_response(ctx, request, version, fragment, body)


def managed_device_overview(ctx: SimContext, request: Request, *, version: str) -> Response:
    caller = auth.authenticate(ctx, request, intune=auth.MANAGED_DEVICES)
    caller.require(auth.MANAGED_DEVICES, roles=auth.ROLES_INTUNE_READ, intune=True)
    data = entities.data_for(ctx, caller.tenant)
    os_counts, states = data.os_counts(), data.compliance_counts()
    body = {
        "id": "managedDeviceOverview",
        "enrolledDeviceCount": data.device_count,
        "mdmEnrolledCount": data.device_count - states["configManager"],
        "dualEnrolledDeviceCount": states["configManager"],
        "deviceOperatingSystemSummary": {
            "androidCount": os_counts["Android"],
            "iosCount": os_counts["iOS"],
            "macOSCount": os_counts["macOS"],
            "windowsMobileCount": 0,
            "windowsCount": os_counts["Windows"],
            "unknownCount": 0,
            "androidDedicatedCount": 0,
            "androidDeviceAdminCount": 0,
            "androidFullyManagedCount": 0,
            "androidWorkProfileCount": os_counts["Android"],
            "androidCorporateWorkProfileCount": 0,
            "configMgrDeviceCount": states["configManager"],
        },
        "deviceExchangeAccessStateSummary": {
            "allowedDeviceCount": 0,
            "blockedDeviceCount": 0,
            "quarantinedDeviceCount": 0,
            "unknownDeviceCount": 0,
            "unavailableDeviceCount": data.device_count,
        },
    }
    if version == "beta":  # not a property of the v1.0 managedDeviceOverview
        body["lastModifiedDateTime"] = data.info.day.strftime("%Y-%m-%dT%H:%M:%SZ")
    return object_response(
        ctx, request, version, "deviceManagement/managedDeviceOverview/$entity", body
    )
