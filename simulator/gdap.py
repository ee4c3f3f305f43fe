"""The GDAP world: relationship types, GDAP relationships with their access assignments,
partner security groups, and the app's consent state per customer.

The seeded mix (per region, by customer index; the last index is today's expired one):
0 gdap (the big tenant when there is one; also assigned to "L1 no Intune"), 1 dap,
2 gdap+dap, 3 mlt, 4 gdap expiring within 30 days without auto-extend, the rest gdap.
All seeded customers have the app consented; created ones do not.

Reference: https://learn.microsoft.com/graph/api/resources/delegatedadminrelationship
Reference: https://learn.microsoft.com/graph/api/resources/delegatedadminaccessassignment
Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.world import Agent, Region, Tenant

TYPES = ("gdap", "dap", "gdap+dap", "mlt", "none")
GDAP_TYPES = ("gdap", "gdap+dap", "mlt")  # types that have a GDAP relationship
DAP_TYPES = ("dap", "gdap+dap")  # types where the partner still holds DAP (AdminAgents)
# delegatedAdminRelationship status values (REFERENCE.md "GDAP").
STATUSES = (
    "approvalPending",
    "active",
    "activating",
    "terminationRequested",
    "terminating",
    "terminated",
    "expired",
)

# Entra built-in role template ids, checked against "Microsoft Entra built-in roles"
# (the permissions reference above).
ROLE_IDS: dict[str, str] = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Directory Readers": "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    "Intune Administrator": "3a2c62db-5318-420d-8d74-23affee5d9d5",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Password Administrator": "966707d0-3269-4727-9be2-8c3a10f19b9d",
    "Groups Administrator": "fdd7a751-b60b-444a-984c-02652fe8fa1c",
    "Cloud Application Administrator": "158c047a-c907-4556-b7ef-446551a6b5f7",
    "Application Administrator": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    "Cloud Device Administrator": "7698a772-787b-4ac8-901f-60d6b08affd2",
    "License Administrator": "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
    "Service Support Administrator": "f023fd81-a637-4b56-95fd-791ac0226033",
}
ROLE_NAMES: dict[str, str] = {v: k for k, v in ROLE_IDS.items()}

# Microsoft-led transition (MLT_) relationships: Microsoft's page says "eight default roles"
# (https://learn.microsoft.com/partner-center/gdap-microsoft-led-transition) but the stored
# excerpt does not name them; these eight names come from a partner's summary of that page.
# Unconfirmed against Microsoft: change MLT_ROLES if Microsoft's list differs.
MLT_ROLES: tuple[str, ...] = (
    "Directory Readers",
    "Global Reader",
    "Helpdesk Administrator",
    "License Administrator",
    "Privileged Authentication Administrator",
    "Service Support Administrator",
    "User Administrator",
    "Cloud Application Administrator",
)
# The roles a seeded (partner-requested) GDAP relationship carries.
SEEDED_ROLES: tuple[str, ...] = (
    "Directory Readers",
    "Global Reader",
    "Helpdesk Administrator",
    "User Administrator",
    "Intune Administrator",
    "Password Administrator",
    "Groups Administrator",
    "Cloud Application Administrator",
    "Privileged Role Administrator",
)
# The relationship a customer created through Partner Center starts with. Microsoft's exact
# default set is unconfirmed: /_sim/gdap/default-roles changes it.
CREATE_DEFAULT_ROLES: tuple[str, ...] = (
    "Directory Readers",
    "Global Reader",
    "Helpdesk Administrator",
    "User Administrator",
)

HELPDESK_GROUP = "Helpdesk agents"
HELPDESK_ROLES: tuple[str, ...] = (
    "Directory Readers",
    "Helpdesk Administrator",
    "User Administrator",
    "Intune Administrator",
)
L1_GROUP = "L1 no Intune"
L1_ROLES: tuple[str, ...] = ("Directory Readers", "Helpdesk Administrator")
L1_AGENT = "l1"  # local part of the one agent only in the L1 group
# Admins of the portal are also in this group: the roles app consent needs (Cloud Application
# Administrator; Privileged Role Administrator to assign Graph app roles).
ADMIN_GROUP = "Portal admins"
ADMIN_ROLES: tuple[str, ...] = (
    "Directory Readers",
    "Global Reader",
    "User Administrator",
    "Intune Administrator",
    "Cloud Application Administrator",
    "Privileged Role Administrator",
)
# Portal app roles of the agents seeded into ADMIN_GROUP.
ADMIN_AGENT_ROLES = ("Portal.Admin", "Portal.GlobalAdmin")
# The app's delegated scopes in a consented customer (the region's consent request).
CONSENT_SCOPES: tuple[str, ...] = (
    "User.Read.All",
    "Group.Read.All",
    "Device.Read.All",
    "Directory.Read.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementConfiguration.Read.All",
)
# The app roles (application permissions) the app holds for client credentials in a
# consented customer: assigned over Graph (appRoleAssignedTo) after Partner Center's consent.
CONSENT_APP_ROLES: tuple[str, ...] = CONSENT_SCOPES


@dataclass
class AccessAssignment:
    id: str
    group_id: str  # accessContainer.accessContainerId: a partner security group
    roles: list[str]  # template ids, a subset of the relationship's
    created: datetime
    status: str = "active"  # pending → active (propagated), deleting, deleted, error
    active_at: float | None = None  # pending ones: epoch s when they become active

    def live(self, now: float | None) -> bool:
        """Active, or pending and propagated by `now` (then active from here on); without a
        time, only what is active already."""
        if (
            self.status == "pending"
            and now is not None
            and self.active_at is not None
            and now >= self.active_at
        ):
            self.status = "active"
        return self.status == "active"


@dataclass
class GdapRelationship:
    id: str
    display_name: str
    status: str
    duration: str  # ISO 8601, P1D to P2Y
    created: datetime
    activated: datetime | None
    end: datetime
    auto_extend: str  # "P180D" or "PT0S" (none)
    roles: list[str]  # accessDetails.unifiedRoles, template ids
    assignments: list[AccessAssignment] = field(default_factory=list)
    last_modified: datetime | None = None


@dataclass
class AppConsent:
    """The app in one customer tenant.

    consented: its service principal exists there (Partner Center's application consent, or
    an admin's consent), or will once `effective_at` has passed; scopes: the delegated
    permissions granted (oauth2PermissionGrant); app_roles: the application permissions
    assigned to its service principal (appRoleAssignedTo), which client credentials need —
    none means a token without roles.
    """

    consented: bool
    scopes: list[str] = field(default_factory=list)
    app_roles: list[str] = field(default_factory=list)
    # Partner Center's consent reaches the tenant after the propagation delay, like a new
    # relationship (epoch s; None: in effect already, as seeded or set through /_sim/).
    effective_at: float | None = None
    display_name: str = ""  # the name Partner Center's consent was given (its displayName)
    assigned_at: dict[str, float] = field(default_factory=dict)  # app role -> epoch s

    def present(self, now: float | None) -> bool:
        """The service principal exists: consented, and propagated by `now` (None: only a
        consent already in effect counts — never one still on its way)."""
        if not self.consented:
            return False
        if self.effective_at is None:
            return True
        return now is not None and now >= self.effective_at


@dataclass
class PartnerGroup:
    """A security group of the partner tenant that access assignments name."""

    id: str
    display_name: str
    description: str
    created: datetime
    members: list[str] = field(default_factory=list)  # agent object ids


def role_ids(names: list[str] | tuple[str, ...]) -> list[str]:
    """Template ids for role names; KeyError names the unknown one."""
    return [ROLE_IDS[n] for n in names]


def role_names(ids: list[str]) -> list[str]:
    return [ROLE_NAMES.get(i, i) for i in ids]


def relationship_id(seed: int, tenant_id: str, label: str) -> str:
    """GDAP relationship ids are two GUIDs joined by a dash, as Graph shows them."""
    raw = hashlib.sha256(f"{seed}/gdap/{tenant_id}/{label}".encode()).digest()
    return f"{uuid.UUID(bytes=raw[:16])}-{uuid.UUID(bytes=raw[16:32])}"


def etag(*parts: object) -> str:
    return 'W/"' + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:24] + '"'


def seed_groups(region: Region, agents: list[Agent], group_id: Callable[[str], str]) -> None:
    """The region's GDAP security groups: everyone in "Helpdesk agents" but l1, who is only in
    "L1 no Intune"; the portal admins also in "Portal admins"."""
    created = datetime(2023, 5, 2, 9, 0, tzinfo=UTC)
    l1_agents = [a.object_id for a in agents if a.username.startswith(f"{L1_AGENT}@")]
    region.groups = [
        PartnerGroup(
            id=group_id(HELPDESK_GROUP),
            display_name=HELPDESK_GROUP,
            description="GDAP: every support agent (directory, helpdesk, Intune)",
            created=created,
            members=[a.object_id for a in agents if a.object_id not in l1_agents],
        ),
        PartnerGroup(
            id=group_id(L1_GROUP),
            display_name=L1_GROUP,
            description="GDAP: first-line support without Intune roles",
            created=created,
            members=l1_agents,
        ),
        PartnerGroup(
            id=group_id(ADMIN_GROUP),
            display_name=ADMIN_GROUP,
            description="GDAP: portal admins (app consent, app roles, user administration)",
            created=created,
            members=[a.object_id for a in agents if set(ADMIN_AGENT_ROLES) & set(a.roles)],
        ),
    ]


EXPIRING_INDEX = 4


def seeded_type(index: int) -> str:
    return {1: "dap", 2: "gdap+dap", 3: "mlt"}.get(index, "gdap")


def new_relationship(
    *,
    seed: int,
    tenant: Tenant,
    label: str,
    roles: list[str],
    status: str,
    created: datetime,
    end: datetime,
    auto_extend: str,
    mlt: bool = False,
) -> GdapRelationship:
    prefix = "MLT_" if mlt else "GDAP_"
    return GdapRelationship(
        id=relationship_id(seed, tenant.id, label),
        display_name=f"{prefix}{tenant.name}"[:50],
        status=status,
        duration="P730D",
        created=created - timedelta(hours=2),
        activated=created if status != "approvalPending" else None,
        end=end,
        auto_extend=auto_extend,
        roles=list(roles),
        last_modified=created,
    )


def assign(
    rel: GdapRelationship,
    group: PartnerGroup,
    roles: list[str],
    seed: int,
    *,
    status: str = "active",
    active_at: float | None = None,
    created: datetime | None = None,
) -> None:
    """Give `group` the roles of `roles` that the relationship has (assignments ⊆ relationship)."""
    raw = hashlib.sha256(f"{seed}/assignment/{rel.id}/{group.id}".encode()).digest()
    rel.assignments.append(
        AccessAssignment(
            id=str(uuid.UUID(bytes=raw[:16])),
            group_id=group.id,
            roles=[r for r in roles if r in rel.roles],
            created=created or rel.activated or rel.created,
            status=status,
            active_at=active_at,
        )
    )


def seed_customer(tenant: Tenant, index: int, expired: bool, region: Region, seed: int) -> None:
    """Type, GDAP relationship, assignments and consent of a seeded customer."""
    helpdesk, l1, admins = region.groups
    tenant.relationship_type = "gdap" if expired else seeded_type(index)
    tenant.app_consent = AppConsent(
        consented=True, scopes=list(CONSENT_SCOPES), app_roles=list(CONSENT_APP_ROLES)
    )
    if tenant.relationship_type not in GDAP_TYPES:
        return
    now_end = tenant.relationship_end
    assert now_end is not None
    rnd = random.Random(f"{seed}/gdap/{tenant.id}")
    auto_extend = "P180D"
    end = now_end
    if index == EXPIRING_INDEX and not expired:
        # The one expiring soon, without auto-extend: its end moves within 30 days.
        end = datetime.now(now_end.tzinfo) + timedelta(days=rnd.randrange(5, 25))
        tenant.relationship_end = end
        auto_extend = "PT0S"
    mlt = tenant.relationship_type == "mlt"
    rel = new_relationship(
        seed=seed,
        tenant=tenant,
        label="mlt" if mlt else "seeded",
        roles=role_ids(MLT_ROLES if mlt else SEEDED_ROLES),
        status="expired" if expired else "active",
        created=end - timedelta(days=730),
        end=end,
        auto_extend="PT0S" if expired else auto_extend,
        mlt=mlt,
    )
    assign(rel, helpdesk, role_ids(HELPDESK_ROLES), seed)
    assign(rel, admins, role_ids(ADMIN_ROLES), seed)
    if index == 0:
        assign(rel, l1, role_ids(L1_ROLES), seed)
    tenant.relationships = [rel]


def created_customer(tenant: Tenant, seed: int, roles: list[str], now: datetime) -> None:
    """A customer created through Partner Center: a default GDAP relationship, no consent.

    No access assignments: Partner Center assigns no security group on its own.
    """
    tenant.relationship_type = "gdap"
    tenant.app_consent = AppConsent(consented=False, scopes=[])
    end = tenant.relationship_end or now + timedelta(days=730)
    rel = new_relationship(
        seed=seed,
        tenant=tenant,
        label="created",
        roles=list(roles),
        status="active",
        created=now,
        end=end,
        auto_extend="PT0S",
    )
    rel.created = now
    tenant.relationships = [rel]


def groups_of(region: Region, agent: Agent) -> list[PartnerGroup]:
    return [g for g in region.groups if agent.object_id in g.members]


def roles_by_customer(
    group: PartnerGroup, customers: list[Tenant], now: float | None = None
) -> dict[str, list[str]]:
    """Role names the group holds in each customer (through active assignments; pending ones
    that have propagated by `now` count)."""
    result: dict[str, list[str]] = {}
    for customer in customers:
        names: list[str] = []
        for rel in customer.relationships:
            for a in rel.assignments:
                if a.group_id == group.id and a.live(now):
                    names += [n for n in role_names(a.roles) if n not in names]
        if names:
            result[customer.id] = names
    return result


def change_relationship(
    tenant: Tenant,
    region: Region,
    *,
    seed: int,
    kind: str,
    status: str | None,
    roles: list[str] | None,
    now: float,
) -> None:
    """The /_sim/ relationship control: a new type, live status and/or GDAP roles."""
    moment = datetime.fromtimestamp(now, UTC)
    tenant.relationship_type = kind
    if kind not in GDAP_TYPES:
        tenant.relationships = []
        if kind == "none" and status is None:
            status = "none"
    elif not tenant.relationships:
        mlt = kind == "mlt"
        end = tenant.relationship_end or moment + timedelta(days=730)
        rel = new_relationship(
            seed=seed,
            tenant=tenant,
            label=f"control/{now}",
            roles=role_ids(MLT_ROLES if mlt else SEEDED_ROLES),
            status=tenant.relationship_status if tenant.relationship_status != "none" else "active",
            created=moment,
            end=end,
            auto_extend="P180D",
            mlt=mlt,
        )
        assign(rel, region.groups[0], role_ids(HELPDESK_ROLES), seed)
        tenant.relationships = [rel]
    for rel in tenant.relationships:
        if roles is not None:
            rel.roles = list(roles)
            for a in rel.assignments:
                a.roles = [r for r in a.roles if r in roles]
        if status is not None and status != "none":
            rel.status = status
        rel.last_modified = moment
    if status is not None:
        tenant.relationship_status = status
        if status == "active" and tenant.propagated_at is None:
            tenant.propagated_at = now  # the control makes it live at once
