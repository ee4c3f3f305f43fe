"""Give the region's partner groups their GDAP roles in a customer the portal created.

Partner Center gives a new customer a default GDAP relationship but assigns no security group
to it, so until someone does, no agent reaches the tenant (Entra refuses their token there)
and nobody can finish the app's consent (its app roles need Privileged Role Administrator).
The region says which groups get which roles (Region.new_customer_access); each becomes an
access assignment, app-only in the partner tenant, needing
DelegatedAdminRelationship.ReadWrite.All.

# Reference: https://learn.microsoft.com/graph/api/delegatedadminrelationship-post-accessassignments
"""

from __future__ import annotations

from typing import Any

from mscloud.entra_roles import role_name
from mscloud.errors import MicrosoftError
from regions.clients import graph_as_app
from regions.models import Region

RELATIONSHIPS = "/tenantRelationships/delegatedAdminRelationships"


def access_assign(*, region: Region, tenant_id: str) -> dict[str, Any]:
    """Create the missing access assignments; what happened, per group, for the status page.

    Never raises for Microsoft's refusals: an assignment that cannot be made is reported (the
    app's own first calls do not need it). Idempotent: groups already assigned are left."""
    template = list(region.new_customer_access or [])
    if not template:
        return {
            "state": "not_configured",
            "message": "The region names no partner group for new customers, so no agent "
            "can open this customer until groups are assigned in Partner Center.",
        }
    graph = graph_as_app(region=region)
    try:
        relationships = graph.get_page(
            RELATIONSHIPS, params={"$filter": f"customer/tenantId eq '{tenant_id}'"}
        ).items
    except MicrosoftError as exc:
        return _failed("Microsoft Graph would not list the customer's GDAP relationships", exc)
    active = [r for r in relationships if r.get("status") == "active"]
    if not active:
        return {
            "state": "no_relationship",
            "message": "The customer has no active GDAP relationship yet, so no group could be "
            "given access.",
        }
    relationship = max(active, key=lambda r: str(r.get("endDateTime") or ""))
    rel_id = str(relationship["id"])
    has = {
        str(r.get("roleDefinitionId", "")).lower()
        for r in (relationship.get("accessDetails") or {}).get("unifiedRoles") or []
    }
    path = f"{RELATIONSHIPS}/{rel_id}/accessAssignments"
    try:
        existing = {
            str((a.get("accessContainer") or {}).get("accessContainerId", "")).lower()
            for a in graph.get_page(path).items
            if a.get("status") not in ("deleting", "deleted")
        }
    except MicrosoftError as exc:
        return _failed("Microsoft Graph would not list the relationship's access", exc)
    groups: list[dict[str, Any]] = []
    for entry in template:
        group_id = str(entry["group_id"]).lower()
        wanted = [str(r).lower() for r in entry.get("roles", [])]
        roles = [r for r in wanted if r in has]
        missing = [role_name(r) for r in wanted if r not in has]
        row: dict[str, Any] = {"group_id": group_id, "roles": [role_name(r) for r in roles]}
        if missing:
            row["missing"] = missing  # the relationship lacks them: nobody can give them
        if group_id in existing:
            row["result"] = "already"
        elif not roles:
            row["result"] = "skipped"
        else:
            body = {
                "accessContainer": {
                    "accessContainerId": group_id,
                    "accessContainerType": "securityGroup",
                },
                "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in roles]},
            }
            try:
                created = graph.post(path, body)
                row["result"] = str(created.get("status") or "pending")
            except MicrosoftError as exc:
                row["result"] = "failed"
                row["error"] = f"{exc.service} refused: {exc.message}"
        groups.append(row)
    failed = [g for g in groups if g["result"] == "failed"]
    return {
        "state": "partial" if failed else "assigned",
        "relationship": rel_id,
        "groups": groups,
    }


def _failed(what: str, exc: MicrosoftError) -> dict[str, Any]:
    return {
        "state": "failed",
        "message": f"{what} ({exc.message}). The app needs the DelegatedAdminRelationship."
        "ReadWrite.All application permission in the partner tenant to give groups access.",
    }
