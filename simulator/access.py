"""Who may do what in a customer tenant, as Entra decides it: the agent's roles there (GDAP
access assignments of their groups, or AdminAgents with DAP) and the app's state there
(service principal, delegated grants, app roles).

Token issuance (simulator/identity/grants.py) and Graph's checks (simulator/graph/auth.py) both
ask this module, so the two never disagree.

Reference: https://learn.microsoft.com/partner-center/customers/gdap-introduction
Reference: https://learn.microsoft.com/partner-center/customers/gdap-assign-microsoft-entra-roles
Reference: https://learn.microsoft.com/partner-center/marketplace-offers/multi-tenant-app-consent
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from simulator import gdap

if TYPE_CHECKING:
    from simulator.world import Agent, App, Tenant, World

# DAP: AdminAgents members act as Global Administrator of every DAP customer.
DAP_ROLE = "Global Administrator"
DAP_TYPES = gdap.DAP_TYPES


def in_admin_agents(agent: Agent) -> bool:
    """The partner's AdminAgents group: the agents with a portal role (the rule the
    simulator's partner groups follow, see simulator/graph/resources.py `_members`)."""
    return bool(agent.roles)


def agent_roles(
    world: World, agent: Agent, tenant: Tenant, now: float | None = None
) -> frozenset[str] | None:
    """Entra role names the agent holds in `tenant`; None in the agent's own tenant (not
    bounded by a relationship); empty where it holds none (no access at all).

    Only an active relationship counts, and only active access assignments of groups the
    agent is a member of; roles an assignment names but the relationship lost do not."""
    if tenant.id == agent.tenant_id:
        return None
    if tenant.partner_tenant_id != agent.tenant_id or tenant.relationship_status != "active":
        return frozenset()
    roles: set[str] = set()
    if tenant.relationship_type in DAP_TYPES and in_admin_agents(agent):
        roles.add(DAP_ROLE)
    region = world.region(tenant.region)
    groups = {g.id for g in gdap.groups_of(region, agent)} if region else set()
    for rel in tenant.relationships:
        if rel.status != "active":
            continue
        for assignment in rel.assignments:
            live = assignment.live(now)
            if live and assignment.group_id in groups:
                roles.update(gdap.role_names([r for r in assignment.roles if r in rel.roles]))
    return frozenset(roles)


def has_role(held: frozenset[str] | None, any_of: tuple[str, ...]) -> bool:
    """Whether roles held (None: own tenant, unbounded) include one of `any_of`; Global
    Administrator includes every role."""
    return held is None or DAP_ROLE in held or bool(held & set(any_of))


# Partner Center's application consent (the Control Panel Vendor API) acts in the customer as
# the signed-in agent: an AdminAgents member who also holds, through a GDAP group, one of
# these roles there (Global Administrator, which DAP gives AdminAgents, counts too).
# Reference: https://learn.microsoft.com/powershell/partnercenter/exchange-online-gdap-app
# ("A GDAP relationship ... that has one of the following roles: Global admin, Privileged
# role admin, Cloud application admin" and "a member of the AdminAgents group as well").
ROLES_APP_CONSENT = ("Cloud Application Administrator", "Privileged Role Administrator")


def may_consent(world: World, agent: Agent, tenant: Tenant, now: float) -> bool:
    """Whether Partner Center's application consent in `tenant` succeeds for this agent."""
    held = agent_roles(world, agent, tenant, now)
    return in_admin_agents(agent) and held is not None and has_role(held, ROLES_APP_CONSENT)


def _dap_preconsented(app: App, tenant: Tenant) -> bool:
    return app.preconsented and tenant.relationship_type in DAP_TYPES


def app_present(app: App, tenant: Tenant, now: float | None) -> bool:
    """The app's service principal exists in the tenant: its home tenant, a consent
    (Partner Center's application consent, once propagated by `now`), or DAP's AdminAgents
    preconsent."""
    return (
        tenant.id == app.home_tenant_id
        or tenant.app_consent.present(now)
        or _dap_preconsented(app, tenant)
    )


def service_principal_id(app: App, tenant_id: str) -> str:
    """The object id of the app's service principal in a tenant: the `oid` of its app-only
    tokens there and its `id` in Graph's /servicePrincipals (one value, as in Entra)."""
    if tenant_id == app.home_tenant_id:
        return app.sp_object_id
    return str(uuid.uuid5(uuid.UUID(app.sp_object_id), tenant_id))


def delegated_grants(
    app: App, tenant: Tenant, default: tuple[str, ...], now: float | None
) -> tuple[str, ...]:
    """Delegated permissions granted to the app in a customer tenant (`default`: what the
    app requests, which DAP preconsent grants and the home tenant has)."""
    if tenant.id == app.home_tenant_id:
        return default
    if tenant.app_consent.present(now):
        return tuple(tenant.app_consent.scopes)
    return default if _dap_preconsented(app, tenant) else ()


def assigned_app_roles(
    app: App, tenant: Tenant, default: tuple[str, ...], now: float | None
) -> tuple[str, ...]:
    """Every application permission assigned to the app's service principal in the tenant,
    as Graph lists its appRoleAssignments (`default`: what the home tenant and DAP's
    preconsent give)."""
    if tenant.id == app.home_tenant_id:
        return default
    if tenant.app_consent.present(now):
        return tuple(tenant.app_consent.app_roles)
    return default if _dap_preconsented(app, tenant) else ()


def app_roles(
    app: App, tenant: Tenant, default: tuple[str, ...], now: float | None
) -> tuple[str, ...]:
    """Application permissions the app's client-credentials tokens carry in a tenant: the
    assigned ones among those the app registers (`default`)."""
    return tuple(r for r in assigned_app_roles(app, tenant, default, now) if r in default)
