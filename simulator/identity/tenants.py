"""Which tenant a request names (GUID, domain or alias) and whether an agent may sign in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.identity.errors import tenant_not_found

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import Agent, Tenant

# Tenant aliases that are not a tenant; only discovery and sign-in understand them.
ALIASES = ("common", "organizations")


def resolve_tenant(ctx: SimContext, name: str) -> Tenant:
    tenant = ctx.world.find_tenant(name)
    if tenant is None:
        raise tenant_not_found(name)
    return tenant


def may_sign_in(ctx: SimContext, agent: Agent, tenant: Tenant) -> bool:
    """The agent's partner is partner of record in the tenant (or it is the agent's own).

    An expired relationship still lets the agent authenticate (the foreign principal is
    there), but carries no privileges: Graph answers 403 there. A relationship that has not
    reached the tenant yet behaves like no relationship at all.
    """
    if tenant.id == agent.tenant_id:
        return True
    if tenant.partner_tenant_id != agent.tenant_id:
        return False
    if tenant.relationship_status == "expired":
        return True
    return ctx.world.relationship_live(tenant, agent.tenant_id, ctx.now())
