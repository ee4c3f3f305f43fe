"""Reads of a customer tenant's directory and Intune data over Microsoft Graph."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

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


def _odata_literal(value: str) -> str:
    return value.replace("'", "''")


def _search_term(value: str) -> str:
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


def user_page(*, graph: GraphClient, q: str = "", skiptoken: str | None = None) -> Page:
    params: dict[str, Any] = {"$select": USER_FIELDS, "$top": PAGE_SIZE, "$count": "true"}
    term = _search_term(q)
    if term:
        params["$search"] = f'"displayName:{term}" OR "userPrincipalName:{term}"'
    else:
        params["$orderby"] = "displayName"
    return graph.get_page("/users", params=params, skiptoken=skiptoken, eventual=True)


def group_page(*, graph: GraphClient, q: str = "", skiptoken: str | None = None) -> Page:
    params: dict[str, Any] = {"$select": GROUP_FIELDS, "$top": PAGE_SIZE, "$count": "true"}
    term = _search_term(q)
    if term:
        params["$search"] = f'"displayName:{term}"'
    else:
        params["$orderby"] = "displayName"
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


def device_page(*, graph: GraphClient, q: str = "", skiptoken: str | None = None) -> Page:
    params: dict[str, Any] = {"$select": DEVICE_FIELDS, "$top": PAGE_SIZE, "$count": "true"}
    term = q.strip()
    if term:
        params["$filter"] = f"startswith(displayName,'{_odata_literal(term)}')"
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
