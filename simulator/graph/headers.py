"""Response headers of the directory (Entra ID) part of Graph: resource units and throttling.

Reference: https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits
Every identity request costs resource units (x-ms-resource-unit); a throttled one says which
limit it hit (x-ms-throttle-scope `<Scope>/<Limit>/<ApplicationId>/<TenantId>`) and why
(x-ms-throttle-information). Intune and the partner-tenant GDAP sets are other services.
"""

from __future__ import annotations

import re

from werkzeug.wrappers import Request

from simulator.tokens import unverified_claims

NOT_DIRECTORY = ("deviceManagement", "tenantRelationships")
# Base resource-unit cost of GET requests; any other identity request costs 1.
GET_COSTS: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(pattern), cost)
    for pattern, cost in (
        (r"applications", 2),
        (r"applications/[^/]+/extensionProperties", 2),
        (r"contracts", 3),
        (r"groups/[^/]+/members", 3),
        (r"groups/[^/]+/transitiveMembers", 5),
        (r"(me|users/[^/]+)/(licenseDetails|memberOf|ownedObjects|transitiveMemberOf)", 2),
        (r"oauth2PermissionGrants(/[^/]+)?", 2),
        (r"servicePrincipals/[^/]+/appRoleAssignments", 2),
        (r"subscribedSkus", 3),
        (r"users", 2),
    )
)


def directory_path(relative: str) -> str | None:
    """The identity path after the version (`users`, `groups/{id}/members`), or None when
    the request is for another service."""
    path = relative.strip("/")
    if not path or path.split("/", 1)[0] in NOT_DIRECTORY or path.startswith("$batch"):
        return None
    return path


def resource_units(request: Request, path: str) -> int:
    """What the request costs: the base cost of its path, less $select and a $top under 20,
    more $expand; never below 1."""
    cost = 1
    if request.method == "GET":
        cost = next((c for pattern, c in GET_COSTS if pattern.fullmatch(path)), 1)
    args = request.args
    if args.get("$select"):
        cost -= 1
    if args.get("$expand"):
        cost += 1
    try:
        if "$top" in args and int(args["$top"]) < 20:
            cost -= 1
    except ValueError:
        pass
    return max(1, cost)


def throttle_headers(request: Request, tenant_id: str) -> dict[str, str]:
    """The headers of a throttled directory response: the limit is the app's in the tenant."""
    raw = request.headers.get("Authorization", "").partition(" ")[2].strip()
    claims = unverified_claims(raw)
    app_id = str(claims.get("appid") or claims.get("azp") or "")
    return {
        "x-ms-throttle-scope": f"Tenant_Application/ReadWrite/{app_id}/{tenant_id}",
        "x-ms-throttle-information": "ResourceUnitLimitExceeded",
    }
