"""Graph entity sets of one tenant, built from the world and its generated data."""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from simulator import access
from simulator.graph import permissions
from simulator.graph.data import (
    TenantData,
    TenantInfo,
    digest,
    guid_from,
    info_key,
    iso,
    tenant_data,
)
from simulator.graph.odata import Collection
from simulator.tokens import GRAPH_APP_ID, PARTNER_CENTER_APP_ID

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import App, Tenant, World

Item = dict[str, Any]

USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
USER_PROPERTIES = frozenset(
    (
        *USER_DEFAULT,
        "accountEnabled",
        "department",
        "companyName",
        "city",
        "country",
        "usageLocation",
        "userType",
        "createdDateTime",
        "employeeId",
        # Changed by writes (PATCH passwordProfile, revokeSignInSessions); $select only.
        "lastPasswordChangeDateTime",
        "signInSessionsValidFromDateTime",
    )
)
USER_LIGHT = frozenset(("displayName", "givenName", "surname", "userPrincipalName", "mail"))
GROUP_PROPERTIES = frozenset(
    (
        "id",
        "displayName",
        "description",
        "mailNickname",
        "mail",
        "mailEnabled",
        "securityEnabled",
        "groupTypes",
        "visibility",
        "createdDateTime",
        "renewedDateTime",
        "securityIdentifier",
    )
)

# The entity types' properties the simulator serves: $select and $filter are checked against
# the type, never against whatever the first item happens to carry (an empty collection
# still knows its type).
# Reference: https://learn.microsoft.com/graph/api/resources/device
DEVICE_PROPERTIES = frozenset(
    (
        "id",
        "deviceId",
        "displayName",
        "operatingSystem",
        "operatingSystemVersion",
        "isCompliant",
        "isManaged",
        "trustType",
        "accountEnabled",
        "approximateLastSignInDateTime",
        "registrationDateTime",
        "manufacturer",
        "model",
        "profileType",
        "deviceOwnership",
    )
)
# Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice
MANAGED_DEVICE_PROPERTIES = frozenset(
    (
        "id",
        "userId",
        "deviceName",
        "managedDeviceOwnerType",
        "enrolledDateTime",
        "lastSyncDateTime",
        "operatingSystem",
        "complianceState",
        "jailBroken",
        "managementAgent",
        "osVersion",
        "easActivated",
        "azureADRegistered",
        "deviceEnrollmentType",
        "emailAddress",
        "azureADDeviceId",
        "deviceRegistrationState",
        "isSupervised",
        "isEncrypted",
        "userPrincipalName",
        "userDisplayName",
        "model",
        "manufacturer",
        "serialNumber",
        "complianceGracePeriodExpirationDateTime",
        "totalStorageSpaceInBytes",
        "wiFiMacAddress",
        # Remote actions (syncDevice, rebootNow, retire, wipe) and their state.
        "deviceActionResults",
    )
)
# The base type's properties; a policy's platform settings belong to its derived type.
# Reference: https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-devicecompliancepolicy
COMPLIANCE_POLICY_PROPERTIES = frozenset(
    ("id", "createdDateTime", "description", "lastModifiedDateTime", "displayName", "version")
)
# Reference: https://learn.microsoft.com/graph/api/resources/contract
CONTRACT_PROPERTIES = frozenset(
    ("id", "contractType", "customerId", "defaultDomainName", "displayName")
)
# Directory objects expanded through $expand: at most 20 per parent.
# Reference: https://learn.microsoft.com/graph/query-parameters#expand
EXPAND_LIMIT = 20


def tenant_info(ctx: SimContext, tenant: Tenant) -> TenantInfo:
    """A snapshot of what generation depends on, with "now" rounded to the day."""
    now = datetime.fromtimestamp(ctx.now(), UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    agents = tuple(
        _agent_user(tenant, agent)
        for agent in ctx.world.agents.values()
        if agent.tenant_id == tenant.id
    )
    return TenantInfo(
        seed=ctx.world.seed,
        id=tenant.id,
        domain=tenant.domain,
        initial_domain=tenant.initial_domain,
        name=tenant.name,
        kind=tenant.kind,
        country=tenant.country,
        created_at=tenant.created_at,
        users=max(tenant.users, len(agents)),
        devices=tenant.devices,
        day=day,
        agents=agents,
    )


def data_for(ctx: SimContext, tenant: Tenant) -> TenantData:
    return tenant_data(tenant_info(ctx, tenant))


def _agent_user(tenant: Tenant, agent: Any) -> Item:
    titles = {"Portal.Admin": "Partner Administrator", "Portal.Manager": "Service Manager"}
    title = next((titles[r] for r in agent.roles if r in titles), "Support Agent")
    return {
        "id": agent.object_id,
        "businessPhones": [],
        "displayName": agent.display_name,
        "givenName": agent.given_name,
        "jobTitle": title,
        "mail": agent.username,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "surname": agent.surname,
        "userPrincipalName": agent.username,
        "accountEnabled": True,
        "department": "Partner Operations",
        "companyName": tenant.name,
        "city": None,
        "country": tenant.country,
        "usageLocation": tenant.country,
        "userType": "Member",
        "createdDateTime": iso(tenant.created_at),
        "employeeId": None,
    }


def users(data: TenantData) -> Collection:
    return Collection(
        entity_set="users",
        entity_type="microsoft.graph.user",
        size=data.user_count,
        item=data.user,
        properties=USER_PROPERTIES,
        light=data.user_light,
        light_keys=USER_LIGHT,
        default_select=USER_DEFAULT,
        cache_key=("users", data.info.seed, data.info.id, data.info.day),
        default_orderby=frozenset(("displayName", "userPrincipalName")),
    )


def groups(data: TenantData, extra: list[Item] | None = None) -> Collection:
    rows = [*data.groups(), *(extra or [])]
    return Collection(
        entity_set="groups",
        entity_type="microsoft.graph.group",
        size=len(rows),
        item=rows.__getitem__,
        properties=GROUP_PROPERTIES,
        default_orderby=frozenset(("displayName",)),
    )


def devices(data: TenantData) -> Collection:
    return Collection(
        entity_set="devices",
        entity_type="microsoft.graph.device",
        size=data.device_count,
        item=data.device,
        properties=DEVICE_PROPERTIES,
        default_orderby=frozenset(("displayName",)),
    )


def organization(data: TenantData) -> Collection:
    org = data.organization()
    return Collection(
        entity_set="organization",
        entity_type="microsoft.graph.organization",
        size=1,
        item=lambda _i: org,
        properties=frozenset(org),
    )


def managed_devices(data: TenantData) -> Collection:
    return Collection(
        entity_set="deviceManagement/managedDevices",
        entity_type="microsoft.graph.managedDevice",
        size=data.device_count,
        item=data.managed_device,
        properties=MANAGED_DEVICE_PROPERTIES,
        cache_key=("managedDevices", *info_key(data.info)),
        default_top=1000,
        max_top=1000,
        clamp_top=True,
        directory=False,
        skip_supported=True,
    )


# ----- what Graph writes changed (simulator.world.Writes), laid over the generated objects -
# Seconds a remote action stays "pending" before the device reports it "done" (a device
# checks in within minutes in real life; the simulator keeps it short but observable).
DEVICE_ACTION_SECONDS = 5.0


def with_writes(
    world: World,
    tenant_id: str,
    coll: Collection,
    render: Callable[[Item, dict[str, Any]], Item] | None = None,
) -> Collection:
    """`coll` with the values writes gave its objects; `render` turns an object and its
    written values into what Graph shows (for values derived from write times)."""
    writes = world.writes

    def item(index: int) -> Item:
        row = coll.item(index)
        patch = writes.patched(tenant_id, row["id"])
        if render is not None:
            return render(row, patch)
        return {**row, **patch} if patch else row

    key = coll.cache_key
    if key is not None:
        key = (*key, "writes", writes.revision(tenant_id))
    return dataclasses.replace(coll, item=item, cache_key=key)


def user_set(ctx: SimContext, tenant: Tenant) -> Collection:
    """The tenant's users as Graph shows them now: generated, then changed by writes."""

    def render(row: Item, patch: dict[str, Any]) -> Item:
        # Never reset or revoked: both date from the account's creation.
        created = row.get("createdDateTime")
        return {
            **row,
            "lastPasswordChangeDateTime": created,
            "signInSessionsValidFromDateTime": created,
            **patch,
        }

    return with_writes(ctx.world, tenant.id, users(data_for(ctx, tenant)), render)


def device_set(ctx: SimContext, tenant: Tenant) -> Collection:
    return with_writes(ctx.world, tenant.id, devices(data_for(ctx, tenant)))


def managed_device_set(
    ctx: SimContext, tenant: Tenant, version: str, *, lookup: bool = False
) -> Collection:
    """Intune's managed devices with their remote actions: each "pending" until the device
    has reported it (DEVICE_ACTION_SECONDS), then "done"; beta also shows managementState
    (retirePending / wipePending after a retire or wipe).

    Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-deviceactionresult
    Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-managementstate
    """
    now = ctx.now()

    def render(row: Item, patch: dict[str, Any]) -> Item:
        out = {**row, "deviceActionResults": []}
        if version == "beta":
            out["managementState"] = patch.get("managementState", "managed")
        for action in patch.get("actions", ()):
            done = now - action["started"] >= DEVICE_ACTION_SECONDS
            moment = action["started"] + (DEVICE_ACTION_SECONDS if done else 0)
            stamp = iso(datetime.fromtimestamp(moment, UTC))
            out["deviceActionResults"].append(
                {
                    "actionName": action["name"],
                    "actionState": "done" if done else "pending",
                    "startDateTime": iso(datetime.fromtimestamp(action["started"], UTC)),
                    "lastUpdatedDateTime": stamp,
                }
            )
            if done and action["name"] == "syncDevice":
                out["lastSyncDateTime"] = stamp
        return out

    data = data_for(ctx, tenant)
    devices = managed_devices(data)
    if lookup:  # one device by index: the others need not be generated
        devices = dataclasses.replace(devices, item=data.managed_device_alone)
    coll = with_writes(ctx.world, tenant.id, devices, render)
    # Without writes in the tenant no device has an action whose state moves with the clock:
    # its pages depend on the collection's key alone and may be kept.
    coll = dataclasses.replace(coll, pages_cacheable=ctx.world.writes.revision(tenant.id) == 0)
    if version == "beta":
        coll = dataclasses.replace(coll, properties=coll.properties | {"managementState"})
    return coll


def compliance_policies(data: TenantData) -> Collection:
    rows = data.compliance_policies()
    return Collection(
        entity_set="deviceManagement/deviceCompliancePolicies",
        entity_type="microsoft.graph.deviceCompliancePolicy",
        size=len(rows),
        item=rows.__getitem__,
        properties=COMPLIANCE_POLICY_PROPERTIES,
        default_top=1000,
        max_top=1000,
        clamp_top=True,
        directory=False,
        skip_supported=True,
    )


# Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice
#   (relationship deviceCompliancePolicyStates: "Device compliance policy states for this
#   device"); beta's deviceCompliancePolicyState adds userId and userPrincipalName.
POLICY_STATE_PROPERTIES = frozenset(
    ("id", "settingStates", "displayName", "version", "platformType", "state", "settingCount")
)
# v1.0's policyPlatformType has no androidWorkProfile (msgraph-sdk 1.65's v1.0 models: android,
# androidForWork, iOS, macOS, windowsPhone81, windows81AndLater, windows10AndLater, all):
# there a work-profile policy is Android for Work, its former name; beta names it.
# Reference: https://learn.microsoft.com/graph/api/resources/intune-deviceconfig-devicecompliancepolicysettingstatesummary
V1_PLATFORM_TYPES = {"androidWorkProfile": "androidForWork"}


def device_compliance_policy_states(data: TenantData, device: Item, version: str) -> Collection:
    """One managed device's deviceCompliancePolicyStates (a navigation of the device)."""
    rows = data.compliance_policy_states(device)
    properties = POLICY_STATE_PROPERTIES
    if version == "v1.0":
        rows = [
            {**row, "platformType": V1_PLATFORM_TYPES.get(row["platformType"], row["platformType"])}
            for row in rows
        ]
    else:
        user = {
            "userId": device.get("userId"),
            "userPrincipalName": device.get("userPrincipalName"),
        }
        rows = [{**row, **user} for row in rows]
        properties = properties | set(user)
    return Collection(
        entity_set=f"deviceManagement/managedDevices('{device['id']}')/deviceCompliancePolicyStates",
        entity_type="microsoft.graph.deviceCompliancePolicyState",
        size=len(rows),
        item=rows.__getitem__,
        properties=properties,
        default_top=1000,
        max_top=1000,
        clamp_top=True,
        directory=False,
        skip_supported=True,
    )


def rows_collection(
    entity_set: str,
    entity_type: str,
    rows: list[Item],
    *,
    extra_properties: frozenset[str] = frozenset(),
    **options: Any,
) -> Collection:
    keys: set[str] = set(extra_properties)
    for row in rows[:5]:
        keys |= set(row)
    return Collection(
        entity_set=entity_set,
        entity_type=entity_type,
        size=len(rows),
        item=rows.__getitem__,
        properties=frozenset(keys) or frozenset(("id",)),
        **options,
    )


# ----- partner tenant: GDAP security groups, contracts, service principals ---------------
def partner_security_groups(world: World, tenant: Tenant) -> list[Item]:
    """The partner's GDAP security groups (access assignments name them), after AdminAgents."""
    region = next((r for r in world.regions if r.partner_tenant_id == tenant.id), None)
    if region is None:
        return []
    rows = []
    for group in region.groups:
        raw = digest(world.seed, tenant.id, "sid", group.id)
        sid = f"S-1-12-1-{int.from_bytes(raw[:4])}-{int.from_bytes(raw[4:8])}"
        nickname = "".join(ch for ch in group.display_name.lower() if ch.isalnum())
        rows.append(
            {
                "id": group.id,
                "displayName": group.display_name,
                "description": group.description,
                "mailNickname": nickname,
                "mail": None,
                "mailEnabled": False,
                "securityEnabled": True,
                "groupTypes": [],
                "visibility": None,
                "createdDateTime": iso(group.created),
                "renewedDateTime": iso(group.created),
                "securityIdentifier": sid,
            }
        )
    return rows


def partner_group_members(world: World, tenant: Tenant, group_id: str) -> list[str] | None:
    """Agent object ids of a GDAP security group; None when it is no such group."""
    region = next((r for r in world.regions if r.partner_tenant_id == tenant.id), None)
    group = next((g for g in region.groups if g.id == group_id), None) if region else None
    return list(group.members) if group else None


def contracts(ctx: SimContext, tenant: Tenant) -> Collection:
    world = ctx.world
    rows = [
        {
            "id": guid_from(digest(world.seed, tenant.id, "contract", customer.id)),
            "contractType": "ResellerPartner",
            "customerId": customer.id,
            "defaultDomainName": customer.domain,
            "displayName": customer.name,
        }
        for customer in (world.customers_of(tenant.id) if tenant.kind == "partner" else [])
    ]
    return rows_collection(
        "contracts", "microsoft.graph.contract", rows, extra_properties=CONTRACT_PROPERTIES
    )


def partner_app(world: World, tenant: Tenant) -> App | None:
    """The partner-managed app registered in this (partner) tenant."""
    region = next((r for r in world.regions if r.partner_tenant_id == tenant.id), None)
    return region.app if region else None


def _sp(object_id: str, app_id: str, name: str, owner: str | None) -> Item:
    return {
        "id": object_id,
        "appId": app_id,
        "displayName": name,
        "appDisplayName": name,
        "servicePrincipalType": "Application",
        "accountEnabled": True,
        "appOwnerOrganizationId": owner,
        "servicePrincipalNames": [app_id],
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
    }


MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"


def service_principals(ctx: SimContext, tenant: Tenant) -> Collection:
    """Service principals of a tenant: Microsoft Graph's (with its appRoles and delegated
    scopes, always there) and Partner Center's; the partner app's in its home tenant, and in
    a customer only while the app is there (consent propagated, or DAP's preconsent)."""
    world = ctx.world
    graph_sp = _sp(
        guid_from(digest(world.seed, tenant.id, "sp", GRAPH_APP_ID)),
        GRAPH_APP_ID,
        "Microsoft Graph",
        MICROSOFT_TENANT,
    )
    graph_sp["appRoles"] = permissions.app_roles()
    graph_sp["oauth2PermissionScopes"] = permissions.oauth2_permission_scopes()
    rows = [
        graph_sp,
        _sp(
            guid_from(digest(world.seed, tenant.id, "sp", PARTNER_CENTER_APP_ID)),
            PARTNER_CENTER_APP_ID,
            "Microsoft Partner Center",
            MICROSOFT_TENANT,
        ),
    ]
    app = partner_app(world, tenant)
    if app is None and tenant.partner_tenant_id:
        region = next(
            (r for r in world.regions if r.partner_tenant_id == tenant.partner_tenant_id), None
        )
        if region and access.app_present(region.app, tenant, ctx.now()):
            app = region.app
    if app is not None:
        oid = access.service_principal_id(app, tenant.id)
        rows.append(_sp(oid, app.client_id, app.display_name, app.home_tenant_id))
    for row in rows:
        row.setdefault("appRoles", [])
        row.setdefault("oauth2PermissionScopes", [])
    return rows_collection("servicePrincipals", "microsoft.graph.servicePrincipal", rows)


# ----- group membership added through POST /groups/{id}/members/$ref ---------------------
class _AddedMembers:
    """Members added at run time; forgotten when /_sim/reset builds a new world."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._world: weakref.ref[Any] | None = None
        self._members: dict[tuple[str, str], list[str]] = {}

    def _for(self, world: World) -> dict[tuple[str, str], list[str]]:
        if self._world is None or self._world() is not world:
            self._world = weakref.ref(world)
            self._members = {}
        return self._members

    def get(self, world: World, tenant_id: str, group_id: str) -> list[str]:
        with self._lock:
            return list(self._for(world).get((tenant_id, group_id), ()))

    def add(self, world: World, tenant_id: str, group_id: str, object_id: str) -> bool:
        with self._lock:
            members = self._for(world).setdefault((tenant_id, group_id), [])
            if object_id in members:
                return False
            members.append(object_id)
            return True

    def remove(self, world: World, tenant_id: str, group_id: str, object_id: str) -> bool:
        """Take out a member added at run time; False when it was not one."""
        with self._lock:
            members = self._for(world).get((tenant_id, group_id), [])
            if object_id not in members:
                return False
            members.remove(object_id)
            return True


ADDED_MEMBERS = _AddedMembers()
