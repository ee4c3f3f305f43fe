"""A region's setup check (Microsoft's partner-managed app steps) and the preconsent call.

Each check talks to the region's partner tenant the way the portal will: discovery, a
client-credentials token, then Graph as the app. A failure keeps Microsoft's exact words
(AADSTS or Graph error text) so an admin can search for them.

# Reference: https://learn.microsoft.com/en-us/graph/auth-cloudsolutionprovider
# Reference: https://learn.microsoft.com/en-us/graph/api/group-post-members
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mscloud.errors import ErrorKind, MicrosoftError, safe_text
from mscloud.graph import GraphClient
from mscloud.identity import IdentityError
from regions.clients import (
    app_roles_granted,
    app_token,
    app_token_drop,
    app_token_fresh,
    graph_as_app,
    graph_with_token,
    openid_configuration,
    partner_center_as_app,
)
from regions.models import Region

ADMIN_AGENTS = "AdminAgents"
MULTI_TENANT_AUDIENCES = ("AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount")
# Application permissions the portal's background work needs in customer tenants (what the
# preconsent grants there): directory pages, Intune devices and compliance policies.
REQUIRED_PERMISSIONS = (
    "Directory.Read.All",
    # The customer sync lists the GDAP relationships: Directory.Read.All does not cover them.
    # Reference: https://learn.microsoft.com/en-us/graph/api/tenantrelationship-list-delegatedadminrelationships
    "DelegatedAdminRelationship.Read.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementConfiguration.Read.All",
)
# Only for "Preconsent now" from the portal (else a partner admin runs Microsoft's steps).
PRECONSENT_PERMISSIONS = ("GroupMember.ReadWrite.All", "Directory.ReadWrite.All")
ALREADY_MEMBER = "already exist"


class Status:
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass
class CheckResult:
    status: str
    summary: str
    error: str = ""  # Microsoft's exact words, when it said no
    fix: str = ""
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in (Status.OK, Status.WARN)


class SetupProblem(Exception):
    """A step failed; carries the result to show."""

    def __init__(self, result: CheckResult) -> None:
        self.result = result
        super().__init__(result.summary)


# --------------------------------------------------------------------------- Microsoft calls


def _fresh_token(region: Region) -> str:
    """A new client-credentials token: a cached one would prove nothing about the credential
    as it is configured now (it may have been changed a minute ago)."""
    try:
        return app_token_fresh(region=region)
    except IdentityError as exc:
        if exc.kind in (ErrorKind.UNAVAILABLE, ErrorKind.TIMEOUT, ErrorKind.UNKNOWN_TENANT):
            summary = "The partner tenant's sign-in service could not be reached."
            fix = "Run the discovery check first and fix what it reports."
        else:
            summary = "Entra refused the app's credential in the partner tenant."
            fix = _fix_for_identity(exc)
        raise SetupProblem(CheckResult(Status.FAIL, summary, error=str(exc), fix=fix)) from None


def _fix_for_identity(exc: IdentityError) -> str:
    code = exc.aadsts
    if code in (7000215, 7000222):
        return (
            "Create a new client secret under the app registration's Certificates & secrets, "
            "paste its Value (not its Secret ID) into this region, and check again."
        )
    if code in (700027, 700024, 700023):
        return (
            "Upload this certificate to the app registration (Certificates & secrets → "
            "Certificates), or paste the key and certificate that are registered there."
        )
    if code in (700016, 90002):
        return (
            "Check the application (client) id and the partner tenant id: the app must be "
            "registered in this region's partner tenant."
        )
    return "Check the app registration in the partner tenant, then run the check again."


def _graph_problem(summary: str, exc: MicrosoftError, fix: str) -> SetupProblem:
    return SetupProblem(CheckResult(Status.FAIL, summary, error=str(exc), fix=fix))


def _one(graph: GraphClient, path: str, filter_: str, select: str, what: str) -> dict | None:
    try:
        items = graph.get(path, params={"$filter": filter_, "$select": select}).get("value", [])
    except MicrosoftError as exc:
        raise _graph_problem(
            f"Microsoft Graph would not list {what} in the partner tenant.",
            exc,
            "Grant the app the Directory.Read.All application permission (admin consent) in "
            "the partner tenant, then check again.",
        ) from None
    return items[0] if items else None


def _service_principal(region: Region, graph: GraphClient) -> dict:
    sp = _one(
        graph,
        "/servicePrincipals",
        f"appId eq '{region.client_id}'",
        "id,appId,displayName",
        "service principals",
    )
    if sp is None:
        raise SetupProblem(
            CheckResult(
                Status.FAIL,
                "The app has no service principal (enterprise application) in the partner tenant.",
                fix="Open the app registration in the partner tenant's Entra admin center once "
                "(or run New-MgServicePrincipal -AppId <client id>), then check again.",
            )
        )
    return sp


def _admin_agents(graph: GraphClient) -> dict:
    group = _one(graph, "/groups", f"displayName eq '{ADMIN_AGENTS}'", "id,displayName", "groups")
    if group is None:
        raise SetupProblem(
            CheckResult(
                Status.FAIL,
                "The partner tenant has no AdminAgents group.",
                fix="Partner Center creates AdminAgents in a CSP partner tenant: check that the "
                "partner tenant id is this region's CSP partner tenant.",
            )
        )
    return group


def _member_of(graph: GraphClient, sp_id: str, group_id: str) -> bool:
    try:
        for item in graph.iter_items(f"/servicePrincipals/{sp_id}/memberOf"):
            if item.get("id") == group_id:
                return True
    except MicrosoftError as exc:
        raise _graph_problem(
            "Microsoft Graph would not list the service principal's group memberships.",
            exc,
            "Grant the app the Directory.Read.All application permission in the partner "
            "tenant, then check again.",
        ) from None
    return False


# --------------------------------------------------------------------------- the checks


def check_discovery(region: Region) -> CheckResult:
    try:
        body = openid_configuration(region=region)
    except IdentityError as exc:
        if exc.kind == ErrorKind.ENDPOINT_REFUSED:
            return CheckResult(
                Status.FAIL,
                f"The portal refused to call {region.login_host}.",
                error=exc.description,
                fix="Enter the login host Microsoft documents for your cloud (or choose a cloud "
                "preset): it must answer itself over https, without redirecting, from a public "
                "address.",
            )
        if exc.status is None:
            return CheckResult(
                Status.FAIL,
                f"{region.login_host} could not be reached.",
                error=exc.description,
                fix="Check the login host (cloud preset or custom endpoint) and, for custom "
                "endpoints, the CA bundle path.",
            )
        return CheckResult(
            Status.FAIL,
            f"Entra answered HTTP {exc.status} for the partner tenant's OpenID configuration.",
            error=exc.description,
            fix="Check the partner tenant id: it must be the tenant's GUID as the Entra admin "
            "center shows it, in the cloud you chose.",
        )
    issuer = str(body.get("issuer", ""))
    if str(region.partner_tenant_id) not in issuer:
        return CheckResult(
            Status.FAIL,
            "The OpenID configuration belongs to another tenant.",
            error=f"issuer: {safe_text(issuer)}",
            fix="Enter the partner tenant's GUID, not a domain of another tenant.",
        )
    return CheckResult(
        Status.OK, "The partner tenant's sign-in service answers.", facts={"issuer": issuer}
    )


def check_credential(region: Region) -> CheckResult:
    if not region.has_credential:
        return CheckResult(
            Status.FAIL,
            "No credential is configured.",
            fix="Enter a client secret or a certificate in the region's settings.",
        )
    _fresh_token(region)
    kind = "certificate" if region.uses_certificate else "client secret"
    facts = {"credential": kind}
    if region.uses_certificate:
        facts["thumbprint"] = region.certificate_thumbprint
    expires = region.credential_expires_at
    if expires:
        facts["expires"] = f"{expires:%Y-%m-%d}"
    if region.credential_expires_soon and expires:
        return CheckResult(
            Status.WARN,
            f"The {kind} works, but it expires on {expires:%Y-%m-%d}.",
            fix=f"Create a new {kind} in the app registration and enter it here before then.",
            facts=facts,
        )
    return CheckResult(
        Status.OK, f"The {kind} gets an app-only token in the partner tenant.", facts=facts
    )


def check_multi_tenant(region: Region) -> CheckResult:
    graph = graph_with_token(region=region, token=_fresh_token(region))
    app = _one(
        graph,
        "/applications",
        f"appId eq '{region.client_id}'",
        "id,appId,displayName,signInAudience",
        "applications",
    )
    if app is None:
        return CheckResult(
            Status.FAIL,
            "The partner tenant has no app registration with this client id.",
            fix="Register the app in this region's partner tenant (an app registered in "
            "another region's tenant does not work here), or correct the client id.",
        )
    audience = str(app.get("signInAudience", ""))
    facts = {"app": str(app.get("displayName", "")), "signInAudience": audience}
    if audience not in MULTI_TENANT_AUDIENCES:
        return CheckResult(
            Status.FAIL,
            f"The app is single-tenant (signInAudience {audience or 'unknown'}).",
            fix="In the app registration, Authentication → Supported account types: choose "
            "“Accounts in any organizational directory” (AzureADMultipleOrgs).",
            facts=facts,
        )
    return CheckResult(Status.OK, f"The app is multi-tenant ({audience}).", facts=facts)


def check_admin_agents(region: Region) -> CheckResult:
    graph = graph_with_token(region=region, token=_fresh_token(region))
    group = _admin_agents(graph)
    sp = _service_principal(region, graph)
    facts = {"group": group["id"], "service principal": sp["id"]}
    if not _member_of(graph, sp["id"], group["id"]):
        return CheckResult(
            Status.FAIL,
            "The app's service principal is not a member of AdminAgents, so it is not "
            "preconsented in your DAP customers' tenants. This matters only for customers with "
            "a DAP relationship; GDAP customers need the app consented per customer.",
            fix="Use “Preconsent now”, or run Microsoft's steps: Add-MgGroupMember -GroupId "
            f"{group['id']} -DirectoryObjectId {sp['id']}.",
            facts=facts,
        )
    return CheckResult(
        Status.OK, "The app's service principal is a member of AdminAgents.", facts=facts
    )


def check_permissions(region: Region) -> CheckResult:
    _fresh_token(region)  # a new token: what was granted a minute ago counts
    try:
        roles = set(app_roles_granted(region=region))
    except MicrosoftError as exc:
        return CheckResult(
            Status.FAIL,
            "Microsoft Graph would not list the app's permissions.",
            error=str(exc),
            fix="Grant the app Directory.Read.All (application) with admin consent, then check "
            "again.",
        )
    missing = [p for p in REQUIRED_PERMISSIONS if p not in roles]
    facts = {"granted": ", ".join(sorted(roles)) or "none"}
    if missing:
        return CheckResult(
            Status.FAIL,
            f"The app lacks {len(missing)} Graph application permission"
            f"{'s' if len(missing) > 1 else ''}: {', '.join(missing)}.",
            fix="In the app registration, API permissions → Add a permission → Microsoft Graph "
            "→ Application permissions; add them and grant admin consent.",
            facts=facts,
        )
    facts["preconsent from the portal"] = (
        "with the app's own credential"
        if roles.intersection(PRECONSENT_PERMISSIONS)
        else "by an admin of this partner tenant, with their sign-in"
    )
    return CheckResult(
        Status.OK, "The Graph permissions the portal needs are granted.", facts=facts
    )


def check_partner_center(region: Region) -> CheckResult:
    """An app-only Partner Center call: the app is registered in Partner Center."""
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/partner-center-authentication
    try:
        first = next(partner_center_as_app(region=region).iter_customers(size=1, max_items=1), None)
    except IdentityError as exc:
        return CheckResult(
            Status.FAIL,
            "Entra would not issue a Partner Center token to the app.",
            error=str(exc),
            fix="Add the Partner Center API (Microsoft Partner Center, user_impersonation) to the "
            "app's API permissions with admin consent, then check again.",
        )
    except MicrosoftError as exc:
        return CheckResult(
            Status.FAIL,
            "Partner Center refused the app.",
            error=str(exc),
            fix="Register the app in Partner Center (Account settings → App management → Add "
            "existing app), then check again.",
        )
    facts = {"first customer": str((first or {}).get("id", "none"))}
    return CheckResult(Status.OK, "Partner Center answers the app.", facts=facts)


def check_customer_probe(region: Region) -> CheckResult:
    """List the GDAP customers (DelegatedAdminRelationship.Read.All) and get an app-only
    token at the first one: what every sweep and first call does."""
    graph = graph_as_app(region=region)
    try:
        page = graph.get_page("/tenantRelationships/delegatedAdminCustomers", params={"$top": 1})
    except MicrosoftError as exc:
        raise _graph_problem(
            "Microsoft Graph would not list your GDAP customers.",
            exc,
            "Grant the app the DelegatedAdminRelationship.Read.All application permission "
            "(admin consent) in the partner tenant, then check again.",
        ) from None
    if not page.items:
        return CheckResult(
            Status.SKIP,
            "The partner tenant has no GDAP customer yet, so no customer tenant was probed.",
        )
    tenant = str(page.items[0].get("tenantId") or page.items[0].get("id"))
    facts = {"customer": tenant}
    try:
        app_token_drop(region=region, tenant_id=tenant)  # prove it now, not from a cache
        app_token(region=region, tenant_id=tenant)
    except IdentityError as exc:
        return CheckResult(
            Status.FAIL,
            "Entra would not give the app a token in your first GDAP customer's tenant.",
            error=str(exc),
            fix="The app needs consent in each GDAP customer (Partner Center application "
            'consent: "Consent the app" on the customer\'s access page), or AdminAgents '
            "membership for DAP customers.",
            facts=facts,
        )
    try:
        # A token is not enough: one without app roles is refused by every Graph call.
        graph_as_app(region=region, tenant_id=tenant).get_page(
            "/organization", params={"$select": "id"}
        )
    except MicrosoftError as exc:
        return CheckResult(
            Status.FAIL,
            "The app gets a token in your first GDAP customer's tenant, but Microsoft Graph "
            "refuses it: the app has no application permissions (app roles) there.",
            error=str(exc),
            fix="Consent the app again from the customer's access page: it assigns the app "
            "roles after Partner Center's consent.",
            facts=facts,
        )
    return CheckResult(
        Status.OK, "The app gets a token in a customer tenant and Graph accepts it.", facts=facts
    )


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    run: Callable[[Region], CheckResult]


CHECKS: tuple[Check, ...] = (
    Check("discovery", "Sign-in service reachable (OpenID discovery)", check_discovery),
    Check("credential", "App credential works (client credentials)", check_credential),
    Check("multitenant", "App is multi-tenant", check_multi_tenant),
    Check(
        "adminagents",
        "App is preconsented for DAP customers (member of AdminAgents)",
        check_admin_agents,
    ),
    Check("permissions", "Graph permissions granted", check_permissions),
    Check("partnercenter", "Partner Center answers the app", check_partner_center),
    Check("customerprobe", "App works in a customer tenant", check_customer_probe),
)
CHECKS_BY_KEY = {check.key: check for check in CHECKS}


def setup_summary(region: Region) -> dict[str, int | bool]:
    """Counts over the region's last stored setup-check results."""
    results = region.setup_results or {}
    statuses = [results.get(c.key, {}).get("status") for c in CHECKS]
    good = (Status.OK, Status.WARN)
    return {
        "total": len(statuses),
        "passed": sum(s in good for s in statuses),
        "failed": sum(s == Status.FAIL for s in statuses),
        "complete": all(s in good for s in statuses),
    }


def run_check(*, region: Region, key: str) -> CheckResult:
    """Run one check; every failure becomes a result, never an exception."""
    check = CHECKS_BY_KEY[key]
    try:
        return check.run(region)
    except SetupProblem as exc:
        return exc.result
    except MicrosoftError as exc:
        return CheckResult(Status.FAIL, "Microsoft Graph could not answer.", error=str(exc))


# --------------------------------------------------------------------------- preconsent


def preconsent(*, region: Region, token: Callable[[], str] | None = None) -> CheckResult:
    """Add the app's service principal to AdminAgents (Microsoft's preconsent steps over
    Graph). Idempotent: "already a member" counts as done.

    `token`: a partner admin's delegated token (Microsoft's steps are run by an admin);
    default: the app's own token, which needs GroupMember.ReadWrite.All."""
    try:
        graph = graph_with_token(region=region, token=token() if token else _fresh_token(region))
        group = _admin_agents(graph)
        sp = _service_principal(region, graph)
        reference = f"{region.graph_base_url.rstrip('/')}/v1.0/directoryObjects/{sp['id']}"
        try:
            graph.post(f"/groups/{group['id']}/members/$ref", {"@odata.id": reference})
        except MicrosoftError as exc:
            if exc.kind != ErrorKind.BAD_REQUEST or ALREADY_MEMBER not in exc.message:
                raise
        facts = {"group": group["id"], "service principal": sp["id"]}
    except SetupProblem as exc:
        return exc.result
    except IdentityError as exc:
        return CheckResult(
            Status.FAIL,
            "Entra would not give your sign-in a token for the partner tenant.",
            error=str(exc),
            fix="Sign out and in again, then retry.",
        )
    except MicrosoftError as exc:
        return CheckResult(
            Status.FAIL,
            "Microsoft Graph refused to add the app to AdminAgents.",
            error=str(exc),
            fix="Sign in as an admin of this region's partner tenant and retry (the app's own "
            "credential needs GroupMember.ReadWrite.All), or run Microsoft's PowerShell steps.",
        )
    return CheckResult(
        Status.OK,
        "Added to AdminAgents (or already there). Customers' tenants accept the app once "
        "this has propagated, which can take a few minutes.",
        facts=facts,
    )
