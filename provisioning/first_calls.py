"""The first Graph calls in a new customer tenant, once the partner relationship is there.

One $batch (one round trip), app-only, and every item must succeed: each proves one of the
preconsented permission families the portal relies on, so "ready" means every customer page
and the compliance sweep will work, not merely that one read did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mscloud.graph import BatchRequest
from regions.clients import graph_as_app
from regions.models import Region


@dataclass(frozen=True)
class FirstCalls:
    verified_domains: list[dict[str, Any]]
    default_domain: str
    results: dict[str, Any] = field(default_factory=dict)


def first_calls_run(*, region: Region, tenant_id: str) -> FirstCalls:
    """Read /organization (verified domains), the user count and Intune's overview.

    Raises the typed Microsoft error of the first item that failed (GraphForbidden while the
    token lacks the preconsented roles), or IdentityError when no token is issued yet."""
    graph = graph_as_app(region=region, tenant_id=tenant_id)
    answers = graph.batch(
        [
            BatchRequest(
                id="organization",
                url="/organization?$select=id,displayName,verifiedDomains,countryLetterCode",
            ),
            # Directory read: the initial admin account Partner Center created is there.
            BatchRequest(
                id="users",
                url="/users?$top=1&$count=true&$select=id",
                headers={"ConsistencyLevel": "eventual"},
            ),
            # Intune read: what the compliance pages and sweeps need.
            BatchRequest(id="intune", url="/deviceManagement/managedDeviceOverview"),
        ]
    )
    for key in ("organization", "users", "intune"):
        answers[key].raise_for_status()
    organization = (answers["organization"].body.get("value") or [{}])[0]
    domains = [
        {
            "name": str(d.get("name", "")),
            "isDefault": bool(d.get("isDefault")),
            "isInitial": bool(d.get("isInitial")),
        }
        for d in organization.get("verifiedDomains") or []
        if d.get("name")
    ]
    default = next((d["name"] for d in domains if d["isDefault"]), "")
    return FirstCalls(
        verified_domains=domains,
        default_domain=default or (domains[0]["name"] if domains else ""),
        results={
            "organization": organization.get("displayName") or "",
            "country": organization.get("countryLetterCode") or "",
            "users": answers["users"].body.get("@odata.count"),
            "managed_devices": answers["intune"].body.get("enrolledDeviceCount"),
        },
    )
