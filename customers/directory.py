"""Reads of a customer tenant's directory and Intune data over Microsoft Graph."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mscloud.errors import MicrosoftError
from mscloud.graph import BatchRequest, GraphClient, Page

PAGE_SIZE = 25
# Graph skiptokens are opaque but printable; anything else in our URL is tampering.
_SKIPTOKEN = re.compile(r"^[A-Za-z0-9._~+/=%:!*'()-]{1,2048}$")

USER_FIELDS = "id,displayName,userPrincipalName,mail,jobTitle,department,accountEnabled"
GROUP_FIELDS = "id,displayName,description,mail,groupTypes,securityEnabled,mailEnabled"
MEMBER_FIELDS = "id,displayName,userPrincipalName,mail"
DEVICE_FIELDS = (
    "id,deviceId,displayName,operatingSystem,operatingSystemVersion,isCompliant,isManaged,"
    "trustType,approximateLastSignInDateTime"
)
MANAGED_DEVICE_FIELDS = (
    "id,deviceName,operatingSystem,osVersion,complianceState,lastSyncDateTime,"
    "userPrincipalName,userDisplayName,managedDeviceOwnerType,model,manufacturer,isEncrypted"
)
COMPLIANCE_STATES = (
    "compliant",
    "noncompliant",
    "inGracePeriod",
    "unknown",
    "conflict",
    "error",
    "configManager",
)
OPERATING_SYSTEMS = ("Windows", "iOS", "Android", "macOS")


class BadPageToken(ValueError):
    """The page token in our URL is not one Graph could have issued."""


def clean_skiptoken(value: str | None) -> str | None:
    if not value:
        return None
    if not _SKIPTOKEN.match(value):
        raise BadPageToken("This page link is not valid any more. Start from the first page.")
    return value


def odata_literal(value: str) -> str:
    return value.replace("'", "''")


def search_term(value: str) -> str:
    # $search takes a quoted phrase; quotes and backslashes inside would end it early.
    return re.sub(r'["\\]', " ", value).strip()


@dataclass
class Overview:
    organization: dict[str, Any]
    counts: dict[str, int | None]
    errors: dict[str, str] = field(default_factory=dict)


def customer_overview(*, graph: GraphClient) -> Overview:
    """Organization and object counts in one $batch (one round trip)."""
    eventual = {"ConsistencyLevel": "eventual"}
    requests = [
        BatchRequest(id="organization", url="/organization"),
        BatchRequest(id="users", url="/users?$top=1&$count=true&$select=id", headers=eventual),
        BatchRequest(id="groups", url="/groups?$top=1&$count=true&$select=id", headers=eventual),
        BatchRequest(id="devices", url="/devices?$top=1&$count=true&$select=id", headers=eventual),
        BatchRequest(id="managed", url="/deviceManagement/managedDeviceOverview"),
    ]
    answers = graph.batch(requests)
    org = answers["organization"]
    # Without the organization there is nothing to show: raise its typed error (403, 429 …).
    org.raise_for_status()
    counts: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for key in ("users", "groups", "devices"):
        answer = answers[key]
        counts[key] = answer.body.get("@odata.count") if answer.ok else None
        if not answer.ok:
            errors[key] = _item_error(answer)
    managed = answers["managed"]
    counts["managed_devices"] = managed.body.get("enrolledDeviceCount") if managed.ok else None
    if not managed.ok:
        errors["managed_devices"] = _item_error(managed)
    values = org.body.get("value") or [{}]
    return Overview(organization=values[0], counts=counts, errors=errors)


def _item_error(answer: Any) -> str:
    try:
        answer.raise_for_status()
    except Exception as exc:
        return str(exc)
    return ""


def _user_params(q: str, orderby: str) -> dict[str, Any]:
    params: dict[str, Any] = {"$select": USER_FIELDS, "$count": "true"}
    term = search_term(q)
    if term:
        params["$search"] = f'"displayName:{term}" OR "userPrincipalName:{term}"'
    # With ConsistencyLevel and $count=true Graph sorts a $search too (advanced queries).
    params["$orderby"] = orderby or "displayName"
    return params


def user_page(
    *, graph: GraphClient, q: str = "", skiptoken: str | None = None, orderby: str = ""
) -> Page:
    """One page of the users table; `orderby` a $orderby Graph serves for users
    (customers/tables.py USERS: displayName or userPrincipalName, either way)."""
    params = {**_user_params(q, orderby), "$top": PAGE_SIZE}
    return graph.get_page("/users", params=params, skiptoken=skiptoken, eventual=True)


EXPORT_MAX_ROWS = 5000


def user_rows(*, graph: GraphClient, q: str = "", orderby: str = "", limit: int) -> list[dict]:
    """The users the table shows for `q` in its order, at most `limit` + 1 (so the export
    tells "more than `limit`" apart), 999 a page, Graph's most for users."""
    params = {**_user_params(q, orderby), "$top": 999}
    return list(graph.iter_items("/users", params=params, max_items=limit + 1, eventual=True))


def user_ids_matching(*, graph: GraphClient, q: str = "", limit: int) -> list[str]:
    """The ids of every user the users table shows for `q` (all its pages), at most `limit`
    + 1 (so a caller tells "more than `limit`" apart): "all matching" of a bulk action.
    999 per page, Graph's most for users."""
    params: dict[str, Any] = {"$select": "id", "$top": 999}
    term = search_term(q)
    if term:
        params["$search"] = f'"displayName:{term}" OR "userPrincipalName:{term}"'
    items = graph.iter_items("/users", params=params, max_items=limit + 1, eventual=True)
    return [str(u["id"]) for u in items]


def managed_device_ids_matching(
    *, graph: GraphClient, compliance: str = "", os: str = "", limit: int
) -> list[str]:
    """The ids of every Intune device the table shows for these filters, at most `limit` + 1."""
    filters = []
    if compliance in COMPLIANCE_STATES:
        filters.append(f"complianceState eq '{compliance}'")
    if os in OPERATING_SYSTEMS:
        filters.append(f"operatingSystem eq '{os}'")
    params: dict[str, Any] = {"$select": "id", "$top": 1000}
    if filters:
        params["$filter"] = " and ".join(filters)
    items = graph.iter_items("/deviceManagement/managedDevices", params=params, max_items=limit + 1)
    return [str(d["id"]) for d in items]


def group_page(
    *, graph: GraphClient, q: str = "", skiptoken: str | None = None, orderby: str = ""
) -> Page:
    params: dict[str, Any] = {"$select": GROUP_FIELDS, "$top": PAGE_SIZE, "$count": "true"}
    term = search_term(q)
    if term:
        params["$search"] = f'"displayName:{term}"'
    params["$orderby"] = orderby or "displayName"
    return graph.get_page("/groups", params=params, skiptoken=skiptoken, eventual=True)


def group_with_members(*, graph: GraphClient, group_id: str) -> tuple[dict, list[dict]]:
    """A group and its first 100 members in one $batch."""
    answers = graph.batch(
        [
            BatchRequest(id="group", url=f"/groups/{group_id}?$select={GROUP_FIELDS}"),
            BatchRequest(
                id="members", url=f"/groups/{group_id}/members?$select={MEMBER_FIELDS}&$top=100"
            ),
        ]
    )
    answers["group"].raise_for_status()
    answers["members"].raise_for_status()
    return answers["group"].body, list(answers["members"].body.get("value") or [])


def device_page(
    *, graph: GraphClient, q: str = "", skiptoken: str | None = None, orderby: str = ""
) -> Page:
    """Entra devices; `q` finds a word of the name anywhere ("laptop" finds "HR-Laptop-07")
    with $search, which needs ConsistencyLevel: eventual, not only its start as startswith.
    # Reference: https://learn.microsoft.com/graph/api/device-list (Example 4: $search)
    # Reference: https://learn.microsoft.com/graph/search-query-parameter"""
    params: dict[str, Any] = {"$select": DEVICE_FIELDS, "$top": PAGE_SIZE, "$count": "true"}
    term = search_term(q)
    if term:
        params["$search"] = f'"displayName:{term}"'
    params["$orderby"] = orderby or "displayName"
    return graph.get_page("/devices", params=params, skiptoken=skiptoken, eventual=True)


def managed_device_page(
    *,
    graph: GraphClient,
    compliance: str = "",
    os: str = "",
    skiptoken: str | None = None,
) -> Page:
    filters = []
    if compliance in COMPLIANCE_STATES:
        filters.append(f"complianceState eq '{compliance}'")
    if os in OPERATING_SYSTEMS:
        filters.append(f"operatingSystem eq '{os}'")
    params: dict[str, Any] = {"$select": MANAGED_DEVICE_FIELDS, "$top": PAGE_SIZE}
    if filters:
        params["$filter"] = " and ".join(filters)
    return graph.get_page("/deviceManagement/managedDevices", params=params, skiptoken=skiptoken)


# A user's page: profile and account state. Not signInActivity: it needs AuditLog.Read.All,
# which the portal's app does not ask for, and an Entra ID P1 licence in the customer.
# Reference: https://learn.microsoft.com/en-us/graph/api/user-get
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/signinactivity
USER_DETAIL_FIELDS = (
    "id,displayName,givenName,surname,userPrincipalName,mail,jobTitle,department,"
    "officeLocation,mobilePhone,businessPhones,accountEnabled,userType,usageLocation,"
    "createdDateTime"
)
USER_GROUP_FIELDS = "id,displayName,securityEnabled,mailEnabled,groupTypes"
USER_DEVICE_FIELDS = "id,deviceId,displayName,operatingSystem,operatingSystemVersion,accountEnabled"
MANAGED_DEVICE_DETAIL_FIELDS = (
    "id,deviceName,operatingSystem,osVersion,complianceState,lastSyncDateTime,enrolledDateTime,"
    "userPrincipalName,userDisplayName,managedDeviceOwnerType,manufacturer,model,serialNumber,"
    "isEncrypted,jailBroken,managementAgent,totalStorageSpaceInBytes,azureADDeviceId,"
    "complianceGracePeriodExpirationDateTime"
)
ENTRA_DEVICE_FIELDS = "id,deviceId,displayName,accountEnabled,trustType"
DETAIL_LIST_LIMIT = 100


@dataclass
class Section:
    """A list on a detail page, or the sentence saying why Graph did not give it."""

    items: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


@dataclass
class UserDetail:
    user: dict[str, Any]
    groups: Section
    devices: Section
    licences: Section


def _section(answer: Any) -> Section:
    if not answer.ok:
        return Section(error=_item_error(answer))
    return Section(items=list(answer.body.get("value") or []))


def user_detail(*, graph: GraphClient, user_id: str) -> UserDetail:
    """A user, their groups, registered devices and licences in one $batch (one round trip).

    Only the user is needed: an unknown id raises Graph's typed 404; a list Graph refuses is
    shown as its sentence, the rest of the page stays.
    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-memberof
    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-registereddevices
    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-licensedetails"""
    top = f"$top={DETAIL_LIST_LIMIT}"
    answers = graph.batch(
        [
            BatchRequest(id="user", url=f"/users/{user_id}?$select={USER_DETAIL_FIELDS}"),
            BatchRequest(
                id="groups",
                url=f"/users/{user_id}/memberOf/microsoft.graph.group"
                f"?$select={USER_GROUP_FIELDS}&{top}",
            ),
            BatchRequest(
                id="devices",
                url=f"/users/{user_id}/registeredDevices?$select={USER_DEVICE_FIELDS}&{top}",
            ),
            BatchRequest(
                id="licences",
                url=f"/users/{user_id}/licenseDetails?$select=skuId,skuPartNumber",
            ),
        ]
    )
    answers["user"].raise_for_status()
    return UserDetail(
        user=answers["user"].body,
        groups=_section(answers["groups"]),
        devices=_section(answers["devices"]),
        licences=_section(answers["licences"]),
    )


# Compliance per policy: the device's state for each compliance policy of its platform,
# served in v1.0 as the managedDevice navigation deviceCompliancePolicyStates (state is a
# complianceStatus: unknown, notApplicable, compliant, remediated, nonCompliant, error,
# conflict, notAssigned). No Graph reference page lists its permission.
# Reference: https://learn.microsoft.com/powershell/module/microsoft.graph.devicemanagement/get-mgdevicemanagementmanageddevicecompliancepolicystate
# Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice
POLICY_STATE_FIELDS = "id,displayName,platformType,state,settingCount"
# policyPlatformType, as a person reads it; a value not listed is shown as Graph sends it.
POLICY_PLATFORMS = {
    "android": "Android",
    "androidForWork": "Android Enterprise (work profile)",
    "androidWorkProfile": "Android Enterprise (work profile)",
    "iOS": "iOS/iPadOS",
    "macOS": "macOS",
    "windowsPhone81": "Windows Phone 8.1",
    "windows81AndLater": "Windows 8.1 and later",
    "windows10AndLater": "Windows 10 and later",
    "all": "All platforms",
}


@dataclass
class ManagedDeviceDetail:
    device: dict[str, Any]
    entra_device: dict[str, Any] | None
    entra_error: str = ""
    policies: Section = field(default_factory=Section)


def managed_device_detail(*, graph: GraphClient, device_id: str) -> ManagedDeviceDetail:
    """An Intune managed device and its state per compliance policy in one $batch, then its
    Entra device object (enabled or not) when Intune knows it: two round trips, the second
    needs the first's azureADDeviceId.

    Only the device is needed: an unknown id raises Intune's typed 404; a policy list Graph
    refuses is shown as its sentence, the rest of the page stays.
    # Reference: https://learn.microsoft.com/en-us/graph/api/intune-devices-manageddevice-get
    # Reference: https://learn.microsoft.com/en-us/graph/api/device-list"""
    path = f"/deviceManagement/managedDevices/{device_id}"
    answers = graph.batch(
        [
            BatchRequest(id="device", url=f"{path}?$select={MANAGED_DEVICE_DETAIL_FIELDS}"),
            BatchRequest(
                id="policies",
                url=f"{path}/deviceCompliancePolicyStates?$select={POLICY_STATE_FIELDS}",
            ),
        ]
    )
    answers["device"].raise_for_status()
    device = answers["device"].body
    policies = _section(answers["policies"])
    for policy in policies.items:
        platform = str(policy.get("platformType") or "")
        policy["platformLabel"] = POLICY_PLATFORMS.get(platform, platform)
    entra_id = str(device.get("azureADDeviceId") or "")
    if not re.fullmatch(r"[0-9a-fA-F-]{36}", entra_id) or entra_id == _NIL_GUID:
        return ManagedDeviceDetail(device=device, entra_device=None, policies=policies)
    try:
        found = graph.get(
            "/devices",
            params={"$filter": f"deviceId eq '{entra_id}'", "$select": ENTRA_DEVICE_FIELDS},
        )
    except MicrosoftError as exc:
        # The Intune facts stand on their own; say why the Entra object is missing.
        return ManagedDeviceDetail(
            device=device, entra_device=None, entra_error=str(exc), policies=policies
        )
    values = found.get("value") or []
    entra = values[0] if values else None
    return ManagedDeviceDetail(device=device, entra_device=entra, policies=policies)


_NIL_GUID = "00000000-0000-0000-0000-000000000000"
