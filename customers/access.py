"""What the signed-in agent can do in a customer: the GDAP roles their partner security groups
hold there (from the last sync), against the roles each page needs.

Microsoft has the last word: this only tells the agent in advance what Graph will allow.
The role table is here, once (DESIGN.md "GDAP and consent": least privilege; reads also pass
with Global Reader, and with the admin roles that include them).
# Reference: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference
"""

from __future__ import annotations

import logging
from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Protocol

from django.contrib.sessions.backends.base import SessionBase

from customers.models import Customer, GdapRelationship, RelationshipType
from customers.partner_groups import agent_groups
from mscloud.entra_roles import role_name
from mscloud.errors import MicrosoftError
from regions.clients import graph_as_agent

log = logging.getLogger(__name__)

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
INTUNE_ADMIN = "3a2c62db-5318-420d-8d74-23affee5d9d5"
CLOUD_APP_ADMIN = "158c047a-c907-4556-b7ef-446551a6b5f7"
APP_ADMIN = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
# Roles whose permissions include reading users, groups and devices.
_DIRECTORY_READ = (
    DIRECTORY_READERS,
    GLOBAL_READER,
    GLOBAL_ADMIN,
    "9360feb5-f418-4baa-8175-e2a00bac4301",  # Directory Writers
    "fe930be7-5e62-47db-91af-98c3a49a38b1",  # User Administrator
    "729827e3-9c14-49f7-bb1b-9608f156bbb8",  # Helpdesk Administrator
    "966707d0-3269-4727-9be2-8c3a10f19b9d",  # Password Administrator
    "fdd7a751-b60b-444a-984c-02652fe8fa1c",  # Groups Administrator
    INTUNE_ADMIN,
)
_INTUNE_READ = (INTUNE_ADMIN, GLOBAL_READER, GLOBAL_ADMIN)
# Relationships whose access assignments give agents their roles.
ACTIVE_STATUSES = ("active", "expiring")


@dataclass(frozen=True)
class Need:
    """A page and the roles that serve it; the first ones are the least privileged."""

    page: str
    label: str
    any_of: tuple[str, ...]
    least: tuple[str, ...]  # named to the agent when missing


NEEDS: tuple[Need, ...] = (
    Need("users", "Users", _DIRECTORY_READ, (DIRECTORY_READERS, GLOBAL_READER)),
    Need("groups", "Groups", _DIRECTORY_READ, (DIRECTORY_READERS, GLOBAL_READER)),
    Need("devices", "Entra devices", _DIRECTORY_READ, (DIRECTORY_READERS, GLOBAL_READER)),
    Need("managed-devices", "Intune devices", _INTUNE_READ, (INTUNE_ADMIN, GLOBAL_READER)),
    Need("compliance", "Compliance", _INTUNE_READ, (INTUNE_ADMIN, GLOBAL_READER)),
)


# "Consent the app" (customers/consent.py): Partner Center's consent needs AdminAgents, not a
# GDAP role; assigning Microsoft Graph app roles in the customer needs Privileged Role
# Administrator (Cloud Application / Application Administrator may not grant Graph's app
# roles), reading the service principals Cloud Application Administrator (or a reader role).
# Reference: https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignedto
CONSENT_NEED = Need(
    "consent",
    "Consent the app (assign its app roles)",
    (PRIVILEGED_ROLE_ADMIN, GLOBAL_ADMIN),
    (PRIVILEGED_ROLE_ADMIN,),
)
CONSENT_ROLES_NEEDED = (
    "membership of your partner tenant's AdminAgents group (Partner Center's consent), and in "
    "this customer, through your GDAP groups, Privileged Role Administrator with Cloud "
    "Application Administrator or Application Administrator"
)


@dataclass(frozen=True)
class PageAccess:
    need: Need
    allowed: bool

    @property
    def missing(self) -> str:
        return " or ".join(role_name(r) for r in self.need.least)


@dataclass(frozen=True)
class GroupRoles:
    group_id: str
    group_name: str
    roles: tuple[str, ...]  # role names


@dataclass(frozen=True)
class CustomerAccess:
    """`known` is False where the portal cannot tell in advance (DAP, never synced)."""

    known: bool
    reason: str
    groups: tuple[GroupRoles, ...]
    pages: tuple[PageAccess, ...]
    consent: PageAccess | None = None  # may the agent's GDAP roles assign the app's roles?
    role_ids: frozenset[str] = frozenset()  # Entra role template ids the groups hold here


class Assigned(Protocol):
    """A relationship as far as roles_held needs it (a GdapRelationship, or its row)."""

    access_assignments: list[dict]


def roles_held(
    *, relationships: Iterable[Assigned], group_ids: Container[str]
) -> dict[str, set[str]]:
    """{group id: Entra role template ids} that the groups among `group_ids` hold through the
    active access assignments of `relationships` (groups holding nothing are left out)."""
    held: dict[str, set[str]] = {}
    for rel in relationships:
        for assignment in rel.access_assignments:
            group = assignment.get("group_id", "")
            if group in group_ids and assignment.get("status") == "active":
                held.setdefault(group, set()).update(assignment.get("roles") or [])
    return held


def customer_access(
    *,
    customer: Customer,
    agent_groups: dict[str, str],
    relationships: list[GdapRelationship] | None = None,
) -> CustomerAccess:
    """The agent's roles in `customer` through `agent_groups` ({group id: name}, the agent's
    partner security groups) and the active relationships' access assignments.

    `relationships`: the customer's active and expiring relationships when the caller read
    them already (many customers at once, in one query); read here otherwise."""
    kind = customer.relationship_type
    if kind == RelationshipType.DAP:
        return CustomerAccess(
            False,
            "This customer has DAP only: members of your AdminAgents group act as its "
            "administrators; GDAP roles do not apply.",
            (),
            (),
        )
    if relationships is None:
        relationships = list(
            GdapRelationship.objects.filter(customer=customer, status__in=ACTIVE_STATUSES)
        )
    if kind == RelationshipType.NONE and not relationships:
        return CustomerAccess(
            False,
            "The last customer sync found no active admin relationship with this customer.",
            (),
            (),
        )
    held = roles_held(relationships=relationships, group_ids=agent_groups)
    roles = set().union(*held.values()) if held else set()
    return CustomerAccess(
        True,
        "" if held else "None of your partner security groups is assigned in this customer.",
        tuple(
            GroupRoles(gid, agent_groups[gid], tuple(sorted(role_name(r) for r in ids)))
            for gid, ids in sorted(held.items(), key=lambda item: agent_groups[item[0]])
        ),
        tuple(PageAccess(need, bool(roles.intersection(need.any_of))) for need in NEEDS),
        PageAccess(CONSENT_NEED, bool(roles.intersection(CONSENT_NEED.any_of))),
        frozenset(roles),
    )


def access_read(*, session: SessionBase, customer: Customer) -> CustomerAccess:
    """`customer_access` for the agent signed in to `session` (their groups from Graph)."""
    region = customer.region
    partner = graph_as_agent(
        session=session, region=region, tenant_id=str(region.partner_tenant_id)
    )
    return customer_access(
        customer=customer, agent_groups=agent_groups(session=session, graph=partner)
    )


# Pages that share a need: a group's page is read with the groups' roles, and so on.
_PAGE_ALIASES = {
    "group": "groups",
    "user": "users",
    "user-action": "users",
    "managed-device": "managed-devices",
    "managed-device-action": "managed-devices",
    "users-bulk": "users",
    "managed-devices-bulk": "managed-devices",
}
_NEEDS_BY_PAGE = {need.page: need for need in NEEDS}


def page_refusal(*, session: SessionBase, customer: Customer, page: str) -> str | None:
    """The sentence to show instead of `page` when the agent's GDAP roles cannot serve it,
    known before any call to the customer's tenant; None when allowed or not known.

    Only the stored, synced relationships decide here; when the agent's groups cannot be
    read, Microsoft decides (the page is tried)."""
    awaiting = _awaiting_approval(customer)
    if awaiting:
        # Nothing reaches the tenant before the customer approves: say so, call no one.
        return (
            f"{customer.name} has not approved the GDAP relationship yet, so no agent of yours "
            "can open this customer. Send their Global Administrator the invitation link below; "
            "the next customer sync notices the approval and starts the checks by itself."
        )
    need = _NEEDS_BY_PAGE.get(_PAGE_ALIASES.get(page, page))
    if need is None or not _gdap_known(customer):
        return None
    try:
        access = access_read(session=session, customer=customer)
    except MicrosoftError as exc:
        log.info("groups of the agent unknown, %s not checked in advance: %s", page, exc.kind)
        return None
    verdict = next(p for p in access.pages if p.need.page == need.page)
    if verdict.allowed:
        return None
    return (
        f"Your partner security groups hold no role in {customer.name} that can read "
        f"{need.label.lower()}: it needs {verdict.missing}. Ask your admin to add you to a "
        "group that this customer's GDAP relationship assigns that role."
    )


def _awaiting_approval(customer: Customer) -> bool:
    """Relationships only awaiting the customer's approval (none active: DAP aside)."""
    if customer.relationship_type == RelationshipType.DAP:
        return False
    statuses = set(customer.gdap_relationships.values_list("status", flat=True))
    return "approvalPending" in statuses and not statuses & {"active", "expiring", "activating"}


def _gdap_known(customer: Customer) -> bool:
    # Not with DAP too: AdminAgents members then act beyond their GDAP roles.
    gdap_only = (RelationshipType.GDAP, RelationshipType.MLT)
    return (
        customer.relationship_type in gdap_only
        and customer.gdap_relationships.filter(status__in=ACTIVE_STATUSES).exists()
    )


def consent_refusal(*, session: SessionBase, customer: Customer) -> str | None:
    """The sentence to show instead of consenting when the stored relationships already tell
    that the agent's GDAP roles cannot assign the app's roles in `customer`; None when they
    can or the portal cannot tell (DAP, groups unknown): Microsoft then decides."""
    if not _gdap_known(customer):
        return None
    try:
        access = access_read(session=session, customer=customer)
    except MicrosoftError as exc:
        log.info("groups of the agent unknown, consent not checked in advance: %s", exc.kind)
        return None
    if access.consent is None or access.consent.allowed:
        return None
    return (
        f"Your partner security groups hold no role in {customer.name} that can give the app "
        f"its app roles: it needs {access.consent.missing}. Ask your admin to add you to a "
        "group that this customer's GDAP relationship assigns that role, then consent again."
    )
