"""App consent in a customer tenant: the one owner of it (DESIGN.md "GDAP and consent").

"Consent the app", as CIPP does it for GDAP customers:
1. Partner Center's application consent (Control Panel Vendor API) with the region's
   delegated scopes, as an admin in AdminAgents (App+User token): it creates the app's
   service principal and delegated grants in the customer tenant;
2. wait until the service principal is there (Partner Center's consent propagates);
3. as that admin in the customer tenant (their GDAP roles), give the app's service principal
   each Graph app role the region needs that it lacks (appRoleAssignedTo), so that client
   credentials carry them;
4. drop the cached app token and prove that client credentials now work (a cheap app-only
   Graph read), then store the consent state on the customer and audit it.
Every failure becomes a `ConsentOutcome` with a sentence for people; running it again on a
consented customer changes nothing (Partner Center answers 409, no role is assigned twice).

`consent_probe` is the cheap check the customer sync runs per customer: does the app get a
client-credentials token there, with which app roles (drift: consent removed in the tenant).

# Reference: https://learn.microsoft.com/partner-center/developer/control-panel-vendor-apis
# Reference: https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignedto
# Reference: https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-approleassignments
# Reference: https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

from audit.changes import field_changes, field_snapshot
from audit.services import audit_record
from customers.access import consent_refusal
from customers.models import CONSENT_FIELDS, ConsentState, Customer, RelationshipStatus
from customers.signals import app_consented
from mscloud.errors import ErrorKind, MicrosoftError
from mscloud.graph import GraphClient
from mscloud.identity import IdentityError, InteractionRequired
from mscloud.partnercenter import PartnerCenterClient
from regions.clients import (
    app_roles_granted,
    app_token_drop,
    graph_as_agent,
    graph_as_app,
    partner_center_as_agent,
)
from regions.models import Region
from regions.permissions import ACTION_SCOPES, GRAPH_APP_ID

log = logging.getLogger(__name__)

GraphFor = Callable[[str], GraphClient]  # tenant id -> Graph as the acting admin there
# The scope that lets the acting admin's token assign app roles after the consent.
ASSIGN_SCOPES = ("AppRoleAssignment.ReadWrite.All",)
_ALREADY_ASSIGNED = "already exists"  # Graph's 400 "Permission being assigned already exists"


class ConsentKind(StrEnum):
    CONSENTED = "consented"
    NO_RELATIONSHIP = "no_relationship"  # no active admin relationship: nothing was called
    # Partner Center 403: not in AdminAgents, or no GDAP role for consent in the customer.
    PARTNER_CENTER_REFUSED = "partner_center_refused"
    NO_ACCESS = "no_access"  # Entra gave the admin no token in the customer (no GDAP group)
    MISSING_READ_ROLE = "missing_read_role"  # Graph 403 reading service principals
    MISSING_ROLE = "missing_role"  # Graph 403 on appRoleAssignedTo: Privileged Role Admin
    NOT_PROPAGATED = "not_propagated"  # the consent has not reached the tenant yet
    NOT_EFFECTIVE = "not_effective"  # roles assigned, client credentials not yet working
    SIGN_IN = "sign_in"  # the admin's sign-in is needed again (or the job's grant is gone)
    UNAVAILABLE = "unavailable"  # Partner Center, Graph or Entra down, slow or throttling
    FAILED = "failed"


# {name}: customer; {detail}: Microsoft's words; {roles}: app roles; {wait}: seconds waited.
_SENTENCES: dict[ConsentKind, str] = {
    ConsentKind.CONSENTED: (
        "The app is consented in {name}: client credentials work there with {roles}, so "
        "sweeps and background calls reach it."
    ),
    ConsentKind.NO_RELATIONSHIP: (
        "{name} has no active admin relationship with your partner tenant, so the app cannot "
        "be consented there. Renew the relationship in Partner Center first."
    ),
    ConsentKind.PARTNER_CENTER_REFUSED: (
        "Partner Center refused the consent for {name} ({detail}): application consent needs "
        "an account in your partner tenant's AdminAgents group that also holds, in this "
        "customer through a GDAP group, Cloud Application Administrator or Privileged Role "
        "Administrator. Ask a Global Administrator of the partner tenant to add you to "
        "AdminAgents and to such a group, then try again."
    ),
    ConsentKind.NO_ACCESS: (
        "Microsoft Entra ID gave your account no token in {name} ({detail}): none of your "
        "partner security groups is assigned in this customer's GDAP relationship. Ask your "
        "admin to add you to a group assigned there with Privileged Role Administrator."
    ),
    ConsentKind.MISSING_READ_ROLE: (
        "Microsoft Graph refused to read the app's service principal in {name} (HTTP 403): "
        "your GDAP roles there need Cloud Application Administrator or Application "
        "Administrator. Ask your admin to add you to a group assigned that role in this "
        "customer."
    ),
    ConsentKind.MISSING_ROLE: (
        "Microsoft Graph refused to give the app its app roles in {name} (HTTP 403): assigning "
        "Microsoft Graph app roles needs the Privileged Role Administrator role in this "
        "customer. Ask your admin to add you to a partner security group that the customer's "
        "GDAP relationship assigns Privileged Role Administrator, then consent again."
    ),
    ConsentKind.NOT_PROPAGATED: (
        "Partner Center accepted the consent, but it has not reached {name}'s tenant after "
        "{wait} s; Microsoft can take several minutes. Consent the app again in a few minutes "
        "to finish (it picks up where this stopped)."
    ),
    ConsentKind.NOT_EFFECTIVE: (
        "The app's roles are assigned in {name}, but client credentials did not carry them "
        "within {wait} s (the token has {roles}). Consent the app again in a few minutes to "
        "check."
    ),
    ConsentKind.SIGN_IN: (
        "Your sign-in cannot be used to consent the app for {name} ({detail}). Sign out, sign "
        "in again (with multi-factor authentication) and retry."
    ),
    ConsentKind.UNAVAILABLE: (
        "{detail}. The app was not consented in {name} yet; try again in a minute."
    ),
    ConsentKind.FAILED: "Consenting the app in {name} failed: {detail}.",
}


@dataclass(frozen=True)
class ConsentOutcome:
    """What "Consent the app" did: a kind, a sentence, and the state it learned (None:
    unchanged, the attempt stopped before it could tell)."""

    kind: ConsentKind
    message: str
    state: str | None = None
    assigned: tuple[str, ...] = ()  # app roles this attempt assigned
    app_roles: tuple[str, ...] | None = None  # the app's, as Graph listed them, when read
    # The delegated scopes of a consent this attempt replaced (None: not replaced).
    scopes: tuple[str, ...] | None = None
    # The acting admin's token refusal behind SIGN_IN / NO_ACCESS: the view puts it to the
    # partner tenant (a dead grant ends the session). Never shown, never stored.
    refusal: IdentityError | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.kind == ConsentKind.CONSENTED

    @property
    def retry_later(self) -> bool:
        return self.kind in (
            ConsentKind.NOT_PROPAGATED,
            ConsentKind.NOT_EFFECTIVE,
            ConsentKind.UNAVAILABLE,
        )


@dataclass(frozen=True)
class Wait:
    """How long to wait for Microsoft to propagate, and how to poll: backoff from `first`
    doubling up to `cap`; `beat` is called before each sleep (a run's heartbeat)."""

    seconds: float
    first: float
    cap: float
    beat: Callable[[], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def for_page(cls) -> Wait:
        return cls(
            settings.CONSENT_WAIT_SECONDS,
            settings.CONSENT_POLL_FIRST_SECONDS,
            settings.CONSENT_POLL_MAX_SECONDS,
        )

    @classmethod
    def for_run(cls, beat: Callable[[], None]) -> Wait:
        return cls(
            settings.CONSENT_RUN_WAIT_SECONDS,
            settings.CONSENT_POLL_FIRST_SECONDS,
            settings.CONSENT_POLL_MAX_SECONDS,
            beat=beat,
        )

    def polls(self) -> Any:
        """Yield before each attempt; sleeps (with backoff) between them until the time is up."""
        deadline = self.clock() + self.seconds
        delay = self.first
        while True:
            yield
            if self.clock() + delay > deadline:
                return
            if self.beat is not None:
                self.beat()
            self.sleep(delay)
            delay = min(delay * 2, self.cap)


@dataclass
class ConsentRequest:
    """Step 1's result: Partner Center accepted (or already had) the consent, or refused."""

    refused: ConsentOutcome | None = None
    existed: bool = False
    # Delegated scopes of an existing consent as Partner Center lists them (None: unknown).
    existing_scopes: list[str] | None = None
    scopes: list[str] = field(default_factory=list)


class _Stop(Exception):
    def __init__(self, outcome: ConsentOutcome) -> None:
        self.outcome = outcome


def _outcome(
    kind: ConsentKind,
    customer: Customer,
    *,
    state: str | None = None,
    detail: str = "",
    roles: list[str] | tuple[str, ...] = (),
    wait: float = 0,
    assigned: tuple[str, ...] = (),
    app_roles: tuple[str, ...] | None = None,
) -> ConsentOutcome:
    message = _SENTENCES[kind].format(
        name=customer.name,
        detail=detail.rstrip("."),
        roles=", ".join(roles) or "no app roles",
        wait=int(wait),
    )
    return ConsentOutcome(kind, message, state, assigned, app_roles)


# --------------------------------------------------------------------------- the steps


def consent_request(
    *, region: Region, customer: Customer, partner_center: PartnerCenterClient
) -> ConsentRequest:
    """Step 1: Partner Center's application consent with the region's delegated scopes."""
    if customer.region_id != region.pk:
        raise ValueError("The customer belongs to another region.")
    # Pending: a customer the portal just created (its relationship is active at Microsoft
    # before the portal's first calls say so); Partner Center has the last word.
    if customer.relationship_status not in (RelationshipStatus.ACTIVE, RelationshipStatus.PENDING):
        return ConsentRequest(refused=_outcome(ConsentKind.NO_RELATIONSHIP, customer))
    tenant = str(customer.tenant_id)
    scopes = region.consent_scopes
    grants = [{"enterpriseApplicationId": GRAPH_APP_ID, "scope": ",".join(scopes)}]
    try:
        try:
            partner_center.create_application_consent(
                tenant,
                application_id=str(region.client_id),
                grants=grants,
                display_name=f"CSP portal ({region.name})",
            )
            return ConsentRequest(scopes=scopes)
        except MicrosoftError as exc:
            if exc.kind != ErrorKind.CONFLICT:
                raise
        # Already consented: Partner Center does not change an existing consent's grants.
        return ConsentRequest(
            existed=True,
            existing_scopes=_listed_scopes(partner_center, tenant, str(region.client_id)),
            scopes=scopes,
        )
    except MicrosoftError as exc:
        return ConsentRequest(refused=_partner_center_refusal(exc, customer))


def consent_complete(
    *,
    region: Region,
    customer: Customer,
    graph_for: GraphFor,
    partner_center: PartnerCenterClient,
    requested: ConsentRequest,
    actor: str,
    wait: Wait | None = None,
    user: Any = None,
    request: Any = None,
    audit_detail: dict[str, Any] | None = None,
) -> ConsentOutcome:
    """Steps 2-4 after `consent_request`, then store and audit the outcome (also a refusal)."""
    if requested.refused is not None:
        outcome = requested.refused
    else:
        try:
            outcome = _complete(
                region, customer, graph_for, partner_center, requested, wait or Wait.for_page()
            )
        except _Stop as stop:
            outcome = stop.outcome
    consent_record(
        customer=customer,
        outcome=outcome,
        scopes=list(outcome.scopes or requested.existing_scopes or requested.scopes),
        actor=actor,
        user=user,
        request=request,
        detail=audit_detail,
    )
    if outcome.kind in _CONSENT_GIVEN:
        # Provisioning listens: a new customer waiting for consent goes on at once, and its
        # next "app not there" is the consent propagating, not a missing consent.
        app_consented.send(Customer, customer=customer)
    return outcome


# Partner Center holds the consent: done, or still reaching the tenant.
_CONSENT_GIVEN = (ConsentKind.CONSENTED, ConsentKind.NOT_PROPAGATED, ConsentKind.NOT_EFFECTIVE)


def consent_customer(
    *,
    region: Region,
    customer: Customer,
    graph_for: GraphFor,
    partner_center: PartnerCenterClient,
    actor: str,
    wait: Wait | None = None,
    user: Any = None,
    request: Any = None,
) -> ConsentOutcome:
    """Consent the region's app in `customer` as the acting admin (`graph_for` gives Graph
    as them in a tenant, `partner_center` is App+User as them); stored and audited."""
    requested = consent_request(region=region, customer=customer, partner_center=partner_center)
    return consent_complete(
        region=region,
        customer=customer,
        graph_for=graph_for,
        partner_center=partner_center,
        requested=requested,
        actor=actor,
        wait=wait,
        user=user,
        request=request,
    )


def consent_by_agent(
    *, session: SessionBase, customer: Customer, user: Any, request: Any = None
) -> ConsentOutcome:
    """ "Consent the app" on the access page: as the admin signed in to `session`, refused in
    advance (and audited) when the synced GDAP assignments show their roles cannot do it."""
    region = customer.region
    refusal = consent_refusal(session=session, customer=customer)
    if refusal is not None:
        outcome = ConsentOutcome(ConsentKind.MISSING_ROLE, refusal)
        consent_record(
            customer=customer,
            outcome=outcome,
            scopes=[],
            actor=str(user),
            user=user,
            request=request,
            detail={"refused_in_advance": True},
        )
        return outcome
    return consent_customer(
        region=region,
        customer=customer,
        graph_for=lambda tenant_id: graph_as_agent(
            session=session, region=region, tenant_id=tenant_id, fresh=True
        ),
        partner_center=partner_center_as_agent(session=session, region=region),
        actor=str(user),
        user=user,
        request=request,
    )


def _complete(
    region: Region,
    customer: Customer,
    graph_for: GraphFor,
    partner_center: PartnerCenterClient,
    requested: ConsentRequest,
    wait: Wait,
) -> ConsentOutcome:
    tenant = str(customer.tenant_id)
    needed = region.customer_app_roles
    graph, app_sp = _service_principal_wait(graph_for, region, customer, wait)
    graph_sp, role_ids = _graph_app_roles(graph, customer)
    missing = _missing_roles(graph, customer, app_sp, graph_sp, role_ids, needed)
    existing = requested.existing_scopes
    lacks_assign = existing is not None and any(s not in existing for s in ASSIGN_SCOPES)
    lacks_actions = existing is not None and any(s not in existing for s in ACTION_SCOPES)
    if (missing and lacks_assign) or lacks_actions:
        # An older consent without the scopes that assign roles (the app is broken here
        # anyway) or that agent actions need: Partner Center keeps an existing consent as it
        # is, so it is replaced with one of the region's scopes.
        log.info("re-consenting the app in %s: its consent lacks scopes it needs", tenant)
        _reconsent(region, customer, partner_center)
        replaced = tuple(region.consent_scopes)
        graph, app_sp = _service_principal_wait(graph_for, region, customer, wait)
        missing = _missing_roles(graph, customer, app_sp, graph_sp, role_ids, needed)
    else:
        replaced = None
    for name in missing:
        _assign(graph, customer, app_sp, graph_sp, role_ids[name])
    outcome = _prove(region, customer, wait, assigned=tuple(missing))
    return replace(outcome, scopes=replaced) if replaced else outcome


def _service_principal_wait(
    graph_for: GraphFor, region: Region, customer: Customer, wait: Wait
) -> tuple[GraphClient, str]:
    """Graph as the admin in the customer and the app's service principal id, once the
    consent has reached the tenant. Until then Entra answers the admin's token request with
    65001 (NOT_CONSENTED), or Graph lists no service principal."""
    tenant = str(customer.tenant_id)
    started = wait.clock()
    for _ in wait.polls():
        try:
            graph = graph_for(tenant)  # a fresh token each time: an old one lacks the grants
            found = _service_principals(graph, str(region.client_id), "id,appId")
        except IdentityError as exc:
            if exc.kind != ErrorKind.NOT_CONSENTED:
                raise _Stop(_token_refusal(exc, customer)) from exc
            continue
        except MicrosoftError as exc:
            raise _Stop(_graph_refusal(exc, customer, ConsentKind.MISSING_READ_ROLE)) from exc
        if found:
            return graph, str(found[0]["id"])
    raise _Stop(
        _outcome(
            ConsentKind.NOT_PROPAGATED,
            customer,
            state=ConsentState.NOT_CONSENTED,
            wait=wait.clock() - started,
        )
    )


def _service_principals(graph: GraphClient, app_id: str, select: str) -> list[dict]:
    body = graph.get(
        "/servicePrincipals", params={"$filter": f"appId eq '{app_id}'", "$select": select}
    )
    return [sp for sp in body.get("value") or [] if isinstance(sp, dict) and sp.get("id")]


def _graph_app_roles(graph: GraphClient, customer: Customer) -> tuple[str, dict[str, str]]:
    """Microsoft Graph's service principal in the tenant and its application roles by name."""
    try:
        found = _service_principals(graph, GRAPH_APP_ID, "id,appId,appRoles")
    except MicrosoftError as exc:
        raise _Stop(_graph_refusal(exc, customer, ConsentKind.MISSING_READ_ROLE)) from exc
    if not found:
        raise _Stop(
            _outcome(
                ConsentKind.FAILED,
                customer,
                detail="Microsoft Graph's own service principal is missing in the tenant",
            )
        )
    sp = found[0]
    roles = {
        str(r["value"]): str(r["id"])
        for r in sp.get("appRoles") or []
        if isinstance(r, dict)
        and r.get("value")
        and r.get("id")
        and r.get("isEnabled", True)
        and "Application" in (r.get("allowedMemberTypes") or ["Application"])
    }
    return str(sp["id"]), roles


def _missing_roles(
    graph: GraphClient,
    customer: Customer,
    app_sp: str,
    graph_sp: str,
    role_ids: dict[str, str],
    needed: list[str],
) -> list[str]:
    unknown = [n for n in needed if n not in role_ids]
    if unknown:
        raise _Stop(
            _outcome(
                ConsentKind.FAILED,
                customer,
                detail=f"Microsoft Graph offers no app role named {', '.join(unknown)}",
            )
        )
    try:
        held = {
            (str(a.get("resourceId")), str(a.get("appRoleId")))
            for a in graph.iter_items(f"/servicePrincipals/{app_sp}/appRoleAssignments")
        }
    except MicrosoftError as exc:
        raise _Stop(_graph_refusal(exc, customer, ConsentKind.MISSING_READ_ROLE)) from exc
    return [n for n in needed if (graph_sp, role_ids[n]) not in held]


def _assign(graph: GraphClient, customer: Customer, app_sp: str, graph_sp: str, role: str) -> None:
    try:
        graph.post(
            f"/servicePrincipals/{graph_sp}/appRoleAssignedTo",
            {"principalId": app_sp, "resourceId": graph_sp, "appRoleId": role},
        )
    except MicrosoftError as exc:
        already = exc.kind == ErrorKind.CONFLICT or (
            exc.kind == ErrorKind.BAD_REQUEST and _ALREADY_ASSIGNED in exc.message.lower()
        )
        if not already:  # assigned meanwhile (another admin, a resent POST): done
            raise _Stop(
                _graph_refusal(exc, customer, ConsentKind.MISSING_ROLE, ConsentState.NO_APP_ROLES)
            ) from exc


def _reconsent(region: Region, customer: Customer, partner_center: PartnerCenterClient) -> None:
    tenant = str(customer.tenant_id)
    try:
        partner_center.delete_application_consent(tenant, str(region.client_id))
    except MicrosoftError as exc:
        if exc.kind != ErrorKind.NOT_FOUND:
            raise _Stop(_partner_center_refusal(exc, customer)) from exc
    again = consent_request(region=region, customer=customer, partner_center=partner_center)
    if again.refused is not None:
        raise _Stop(again.refused)


def _prove(
    region: Region, customer: Customer, wait: Wait, *, assigned: tuple[str, ...]
) -> ConsentOutcome:
    """Client credentials in the tenant with every needed role, and Graph accepting them."""
    tenant = str(customer.tenant_id)
    needed = set(region.customer_app_roles)
    roles: list[str] = []
    started = wait.clock()
    for _ in wait.polls():
        # A token (or MSAL's remembered refusal) from before the roles proves nothing.
        app_token_drop(region=region, tenant_id=tenant)
        try:
            roles = app_roles_granted(region=region, tenant_id=tenant)
            if needed <= set(roles):
                graph_as_app(region=region, tenant_id=tenant).get(
                    "/organization", params={"$select": "id"}
                )
                return _outcome(
                    ConsentKind.CONSENTED,
                    customer,
                    state=ConsentState.CONSENTED,
                    roles=sorted(roles),
                    assigned=assigned,
                    app_roles=tuple(sorted(roles)),
                )
        except MicrosoftError as exc:
            if exc.transient:
                raise _Stop(_unavailable(exc, customer)) from exc
            log.info("client credentials in %s not working yet: %s", tenant, exc.kind)
    return _outcome(
        ConsentKind.NOT_EFFECTIVE,
        customer,
        state=ConsentState.NO_APP_ROLES,
        roles=sorted(roles),
        wait=wait.clock() - started,
        assigned=assigned,
        app_roles=tuple(sorted(roles)),
    )


# --------------------------------------------------------------------------- explanations


def _listed_scopes(
    partner_center: PartnerCenterClient, tenant: str, app_id: str
) -> list[str] | None:
    try:
        consents = partner_center.list_application_consents(tenant)
    except MicrosoftError as exc:
        log.info("application consents of %s not listed: %s", tenant, exc.kind)
        return None
    for consent in consents:
        if str(consent.get("applicationId", "")).lower() != app_id.lower():
            continue
        for grant in consent.get("applicationGrants") or []:
            if str(grant.get("enterpriseApplicationId", "")).lower() == GRAPH_APP_ID:
                return [s.strip() for s in str(grant.get("scope") or "").split(",") if s.strip()]
        return []
    return None


def _unavailable(exc: MicrosoftError, customer: Customer) -> ConsentOutcome:
    detail = f"{exc.service} is unavailable or busy right now ({exc.kind})."
    return _outcome(ConsentKind.UNAVAILABLE, customer, detail=detail)


def _partner_center_refusal(exc: MicrosoftError, customer: Customer) -> ConsentOutcome:
    if exc.transient:
        return _unavailable(exc, customer)
    if isinstance(exc, IdentityError):
        return _token_refusal(exc, customer)
    if exc.kind == ErrorKind.FORBIDDEN:
        return _outcome(
            ConsentKind.PARTNER_CENTER_REFUSED, customer, detail=f"HTTP 403: {exc.message}"
        )
    if exc.kind == ErrorKind.UNAUTHORIZED:
        return _outcome(
            ConsentKind.SIGN_IN,
            customer,
            detail=f"Partner Center did not accept your App+User token: {exc.message}",
        )
    if exc.kind == ErrorKind.NOT_FOUND:
        return _outcome(ConsentKind.NO_RELATIONSHIP, customer)
    return _outcome(ConsentKind.FAILED, customer, detail=str(exc))


def _token_refusal(exc: IdentityError, customer: Customer) -> ConsentOutcome:
    if exc.transient:
        return _unavailable(exc, customer)
    if isinstance(exc, InteractionRequired) or exc.kind == ErrorKind.INTERACTION_REQUIRED:
        outcome = _outcome(ConsentKind.SIGN_IN, customer, detail=exc.description or exc.error)
    else:
        outcome = _outcome(ConsentKind.NO_ACCESS, customer, detail=str(exc))
    return replace(outcome, refusal=exc)


def _graph_refusal(
    exc: MicrosoftError, customer: Customer, forbidden: ConsentKind, state: str | None = None
) -> ConsentOutcome:
    if isinstance(exc, IdentityError):
        return _token_refusal(exc, customer)
    if exc.transient:
        return _unavailable(exc, customer)
    if exc.kind == ErrorKind.FORBIDDEN:
        return _outcome(forbidden, customer, state=state)
    if exc.kind == ErrorKind.UNAUTHORIZED:
        return _outcome(ConsentKind.SIGN_IN, customer, detail=exc.message)
    return _outcome(ConsentKind.FAILED, customer, detail=str(exc))


# --------------------------------------------------------------------------- state


def consent_record(
    *,
    customer: Customer,
    outcome: ConsentOutcome,
    scopes: list[str],
    actor: str,
    user: Any = None,
    request: Any = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Store what the attempt learned on the customer and audit it with before/after."""
    before = field_snapshot(customer, CONSENT_FIELDS)
    changes: dict[str, Any] = {}
    if outcome.state is not None:
        changes = {"consent_state": outcome.state, "consent_checked_at": timezone.now()}
        if outcome.state == ConsentState.CONSENTED:
            changes["consent_scopes"] = list(scopes)
            changes["consent_lost_at"] = None
        if outcome.app_roles is not None:
            changes["consent_app_roles"] = list(outcome.app_roles)
        Customer.objects.filter(pk=customer.pk).update(**changes)
        for name, value in changes.items():
            setattr(customer, name, value)
    audit_record(
        action="customer.app_consent",
        request=request,
        user=user,
        actor=actor,
        region=customer.region.slug,
        tenant_id=str(customer.tenant_id),
        detail={
            **(detail or {}),
            "outcome": str(outcome.kind),
            "assigned": list(outcome.assigned),
            "changed": field_changes(before, field_snapshot(customer, CONSENT_FIELDS)),
        },
    )


# --------------------------------------------------------------------------- the sync's check


@dataclass(frozen=True)
class ConsentProbe:
    state: str
    app_roles: tuple[str, ...]


def consent_probe(*, region: Region, tenant_id: str) -> ConsentProbe | None:
    """Whether client credentials work in the tenant and with which app roles, as Graph lists
    the app's appRoleAssignments (access tokens are opaque: never read). The token comes from
    the per-tenant cache while it lives, so a check costs at most one token request per token
    lifetime and two Graph reads. None: Entra or Graph could not say (unreachable, another
    refusal); keep what was known."""
    try:
        roles = app_roles_granted(region=region, tenant_id=tenant_id)
    except IdentityError as exc:
        if exc.kind == ErrorKind.NOT_CONSENTED:
            return ConsentProbe(ConsentState.NOT_CONSENTED, ())
        log.info("consent of %s not checked: %s", tenant_id, exc.kind)
        return None
    except MicrosoftError as exc:
        log.info("consent of %s not checked: %s", tenant_id, exc.kind)
        return None
    needed = set(region.customer_app_roles)
    state = ConsentState.CONSENTED if needed <= set(roles) else ConsentState.NO_APP_ROLES
    return ConsentProbe(state, tuple(sorted(roles)))
