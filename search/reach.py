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

The roles that read what are customers.access's (NEEDS); this module only applies them to a
whole region at once: two queries and set arithmetic, whatever the number of customers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from accounts.models import User
from customers.access import ACTIVE_STATUSES, NEEDS, roles_held
from customers.models import Customer, GdapRelationship, RelationshipType

_READS_USERS = frozenset(next(n for n in NEEDS if n.page == "users").any_of)
_READS_DEVICES = frozenset(next(n for n in NEEDS if n.page == "managed-devices").any_of)
_GDAP_ONLY = (RelationshipType.GDAP, RelationshipType.MLT)


class CustomerRef(NamedTuple):
    """What a search needs of a customer: small, so a plan of 1,000 customers is cheap to
    build and to keep in the cache (a Customer has many more fields)."""

    pk: int
    tenant_id: str
    name: str
    relationship_type: str


@dataclass(frozen=True)
class Reach:
    customer: CustomerRef
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
    there. `agent_groups`: {group id: name} of the agent, None when they could not be read."""
    region = user.region
    if region is None or not region.active:
        return []
    customers = [
        CustomerRef(pk, str(tenant_id), name, kind)
        for pk, tenant_id, name, kind in Customer.objects.filter(region=region)
        .order_by("name", "tenant_id")
        .values_list("id", "tenant_id", "name", "relationship_type")
    ]
    statuses: dict[int, set[str]] = defaultdict(set)
    active: dict[int, list[_Relationship]] = defaultdict(list)
    for customer_id, status, assignments in GdapRelationship.objects.filter(
        customer__region=region
    ).values_list("customer_id", "status", "access_assignments"):
        statuses[customer_id].add(status)
        if status in ACTIVE_STATUSES:
            active[customer_id].append(_Relationship(assignments or []))
    return [_reach(c, statuses[c.pk], active[c.pk], agent_groups) for c in customers]


class _Relationship(NamedTuple):
    access_assignments: list[dict]


def _reach(
    customer: CustomerRef,
    statuses: set[str],
    active: list[_Relationship],
    agent_groups: dict[str, str] | None,
) -> Reach:
    if customer.relationship_type in (RelationshipType.DAP, RelationshipType.GDAP_DAP):
        # AdminAgents members act as the customer's administrators: Microsoft decides.
        return Reach(customer, users=True, devices=True, known=False)
    if not active:
        if "approvalPending" in statuses:
            return Reach(customer, False, False, True, _NOT_APPROVED)
        return Reach(customer, False, False, True, _NO_RELATIONSHIP)
    if agent_groups is None:
        return Reach(customer, users=True, devices=True, known=False)
    held = roles_held(relationships=active, group_ids=agent_groups)
    if not held:
        return Reach(customer, False, False, True, _NO_GROUP)
    roles = set().union(*held.values())
    users, devices = bool(roles & _READS_USERS), bool(roles & _READS_DEVICES)
    return Reach(customer, users, devices, True, "" if users or devices else _NO_READ_ROLE)


def indexable(*, customer: Customer, relationships: list[GdapRelationship]) -> tuple[bool, bool]:
    """(users, devices): what the index may hold of `customer`: only what some partner
    security group of its region may read there through GDAP, so the index never holds what
    none of the region's agents may see. DAP customers are searched live instead."""
    if customer.relationship_type not in _GDAP_ONLY:
        return False, False
    every_group = _AnyGroup()
    held = roles_held(relationships=relationships, group_ids=every_group)
    roles = set().union(*held.values()) if held else set()
    return bool(roles & _READS_USERS), bool(roles & _READS_DEVICES)


class _AnyGroup:
    """Every partner security group: the index asks what any of the region's groups holds."""

    def __contains__(self, group_id: object) -> bool:
        return bool(group_id)
