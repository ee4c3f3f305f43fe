"""Which of the region's customers a search may look into for the signed-in agent, and how.

Decided from the database before any token or Graph call: the customers of the agent's own
region (a global admin's too: a search never crosses regions), the relationships the last
sync stored, and the agent's partner security groups. Per customer, one of:

- from the index: GDAP only, the agent's groups hold a role there that reads users (and/or
  Intune devices), and the index holds that customer;
- live: Microsoft decides (DAP, where AdminAgents members act beyond GDAP roles; groups
  that could not be read), or the agent may read but the index does not hold the customer
  yet (app not consented, never read, failed): the agent's own delegated token is used;
- skipped, with the reason (no group assigned, roles that read neither, relationship
  awaiting approval or ended).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from accounts.models import User
from customers.access import ACTIVE_STATUSES, customer_access
from customers.models import Customer, GdapRelationship, RelationshipType


@dataclass(frozen=True)
class Reach:
    customer: Customer
    users: bool  # the agent may read its users (as far as the portal can tell)
    devices: bool  # … and its Intune devices
    known: bool  # False: the portal cannot tell in advance; Microsoft decides
    reason: str = ""  # why neither, for the "skipped" list

    @property
    def any(self) -> bool:
        return self.users or self.devices


_NOT_APPROVED = "has not approved the GDAP relationship yet"
_NO_RELATIONSHIP = "no active admin relationship (as of the last customer sync)"
_NO_GROUP = "none of your partner security groups is assigned here"
_NO_READ_ROLE = "your groups' roles here read neither users nor Intune devices"


def region_reach(*, user: User, agent_groups: dict[str, str] | None) -> list[Reach]:
    """Every customer of the user's region, in name order, with what the agent may search
    there. `agent_groups`: {group id: name} of the agent, None when they could not be read.
    Two queries whatever the number of customers."""
    if user.region_id is None:
        return []
    customers = list(
        Customer.objects.filter(region_id=user.region_id, region__active=True)
        .select_related("region")
        .order_by("name", "tenant_id")
    )
    statuses: dict[int, set[str]] = defaultdict(set)
    active: dict[int, list[GdapRelationship]] = defaultdict(list)
    for rel in GdapRelationship.objects.filter(customer__region_id=user.region_id).only(
        "customer_id", "status", "access_assignments"
    ):
        statuses[rel.customer_id].add(rel.status)
        if rel.status in ACTIVE_STATUSES:
            active[rel.customer_id].append(rel)
    return [_reach(c, statuses[c.pk], active[c.pk], agent_groups) for c in customers]


def _reach(
    customer: Customer,
    statuses: set[str],
    active: list[GdapRelationship],
    agent_groups: dict[str, str] | None,
) -> Reach:
    kind = customer.relationship_type
    if kind in (RelationshipType.DAP, RelationshipType.GDAP_DAP):
        # AdminAgents members act as the customer's administrators: Microsoft decides.
        return Reach(customer, users=True, devices=True, known=False)
    if not active:
        if "approvalPending" in statuses:
            return Reach(customer, False, False, True, _NOT_APPROVED)
        return Reach(customer, False, False, True, _NO_RELATIONSHIP)
    if agent_groups is None:
        return Reach(customer, users=True, devices=True, known=False)
    access = customer_access(customer=customer, agent_groups=agent_groups, relationships=active)
    if not access.groups:
        return Reach(customer, False, False, True, _NO_GROUP)
    allowed = {p.need.page: p.allowed for p in access.pages}
    users, devices = allowed["users"], allowed["managed-devices"]
    return Reach(customer, users, devices, True, "" if users or devices else _NO_READ_ROLE)


def indexable(*, customer: Customer, relationships: list[GdapRelationship]) -> tuple[bool, bool]:
    """(users, devices): what the index may hold of `customer`: only what some partner
    security group of its region may read there through GDAP, so the index never holds what
    none of the region's agents may see. DAP-only customers are searched live instead."""
    if customer.relationship_type not in (RelationshipType.GDAP, RelationshipType.MLT):
        return False, False
    groups: dict[str, str] = {}
    for rel in relationships:
        for assignment in rel.access_assignments:
            if assignment.get("status") == "active" and assignment.get("group_id"):
                groups[str(assignment["group_id"])] = ""
    if not groups:
        return False, False
    access = customer_access(customer=customer, agent_groups=groups, relationships=relationships)
    allowed = {p.need.page: p.allowed for p in access.pages}
    return allowed["users"], allowed["managed-devices"]
