"""The seeded world: regions, partner tenants, apps, agents, customer tenants, relationships.

Everything is derived from the seed, so two runs with the same flags hand out the same GUIDs,
names and secrets. It stays cheap with thousands of customers: one small object per tenant,
no keys or users generated here (Graph generates users and devices lazily).
"""

from __future__ import annotations

import hashlib
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from simulator import access, gdap

DEMO_PASSWORD = "Sim-Passw0rd!"

# Delegated and application permissions the partner app holds in customer tenants.
APP_PERMISSIONS: tuple[str, ...] = (
    "User.Read.All",
    "Group.Read.All",
    "Device.Read.All",
    "Directory.Read.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementConfiguration.Read.All",
)

# Delegated write permissions the app registers for agent actions (issue 14): a token carries
# them only where the tenant granted them (the home tenant, DAP's preconsent, or a consent
# that names them); the seeded GDAP consents give the reads only.
APP_WRITE_SCOPES: tuple[str, ...] = (
    "User.EnableDisableAccount.All",
    "User.RevokeSessions.All",
    "GroupMember.ReadWrite.All",
    "Directory.AccessAsUser.All",
    "DeviceManagementManagedDevices.PrivilegedOperations.All",
)

# Granted (admin-consented) only in the partner tenant: the customer sync reads the GDAP
# relationships with it; Directory.Read.All does not open them.
PARTNER_TENANT_APP_PERMISSIONS: tuple[str, ...] = (
    "DelegatedAdminRelationship.Read.All",
    # Provisioning gives the partner's groups access in a new customer (accessAssignments).
    "DelegatedAdminRelationship.ReadWrite.All",
)

_NAMESPACE = uuid.UUID("6f1c3a52-9d7e-4b8a-a1f0-2c5d8e9b7a43")

_COMPANY_BASES = (
    "Northwind", "Fabrikam", "Tailspin", "Adventure Works", "Wingtip", "Litware", "Proseware",
    "Lamna", "Woodgrove", "Alpine Ski House", "Blue Yonder", "Coho", "Fourth Coffee",
    "Humongous", "Margie's Travel", "Relecloud", "Trey Research", "VanArsdel",
    "Wide World Importers", "Southridge", "A. Datum", "Consolidated Messenger", "Nod",
    "Lucerne", "Tailwind Traders", "City Power", "Bellows", "Olympia", "Boulder", "Bluewave",
    "Graphic Design", "Munson", "Best For You", "Kestrel", "Silverline", "Redwood", "Harbor",
    "Summit", "Ironbridge", "Lakeshore",
)  # fmt: skip
_INDUSTRIES = (
    "Logistics", "Dental", "Legal", "Manufacturing", "Consulting", "Foods", "Pharma", "Retail",
    "Engineering", "Media", "Health", "Energy", "Architects", "Insurance", "Capital",
    "Robotics", "Textiles", "Analytics", "Travel", "Labs",
)  # fmt: skip

# Region definitions: partner naming and the countries its customers live in, with the
# legal-form suffix that makes company names look local.
_REGIONS = (
    {
        "slug": "us",
        "name": "United States",
        "partner_name": "Contoso Partners US",
        "partner_domain": "contosopartners.com",
        "initial_domain": "contosopartnersus.onmicrosoft.com",
        "countries": (("US", "Inc."), ("US", "LLC"), ("US", "Corp.")),
        "agents": (
            ("agent", "Alex", "Wilber", ["Portal.Agent"]),
            ("manager", "Megan", "Bowen", ["Portal.Manager"]),
            ("admin", "Adele", "Vance", ["Portal.Admin"]),
            ("norole", "Lee", "Gu", []),
            ("l1", "Pradeep", "Gupta", ["Portal.Agent"]),  # only in "L1 no Intune"
            # The one role that crosses regions; signs in through the US partner tenant.
            ("globaladmin", "Nestor", "Wilke", ["Portal.GlobalAdmin"]),
        ),
    },
    {
        "slug": "eu",
        "name": "Europe",
        "partner_name": "Contoso Partners EU",
        "partner_domain": "contosopartners.eu",
        "initial_domain": "contosopartnerseu.onmicrosoft.com",
        "countries": (
            ("DE", "GmbH"),
            ("FR", "SAS"),
            ("NL", "B.V."),
            ("IE", "Ltd"),
            ("ES", "S.L."),
            ("IT", "S.r.l."),
            ("SE", "AB"),
        ),
        "agents": (
            ("agent", "Lukas", "Schmidt", ["Portal.Agent"]),
            ("manager", "Sophie", "Martin", ["Portal.Manager"]),
            ("admin", "Isabella", "Rossi", ["Portal.Admin"]),
            ("norole", "Jonas", "Berg", []),
            ("l1", "Elena", "Novak", ["Portal.Agent"]),  # only in "L1 no Intune"
        ),
    },
)


@dataclass
class App:
    """A partner-managed (multi-tenant) app registration, one per region."""

    client_id: str
    client_secret: str
    display_name: str
    home_tenant_id: str
    sp_object_id: str
    multi_tenant: bool
    permissions: tuple[str, ...]  # app roles granted for client_credentials
    # The registration's web redirect URIs (none at first, like a new registration): an
    # authorize request with another redirect_uri is AADSTS50011. /_sim/regions/<slug>/app/
    # redirect-uris adds them (configure_demo_regions registers the portal's callback).
    redirect_uris: list[str] = field(default_factory=list)
    # Whether the service principal is in the partner's AdminAgents group, which is what
    # preconsents the app in customer tenants. Graph's POST /groups/{id}/members/$ref sets it.
    preconsented: bool = True
    # PEM certificates uploaded to the registration ("Certificates & secrets"): a client may
    # authenticate with an assertion signed by one of their keys instead of the secret.
    certificates: list[str] = field(default_factory=list)


@dataclass
class Agent:
    """A user of a partner tenant."""

    object_id: str
    username: str
    password: str
    display_name: str
    given_name: str
    surname: str
    roles: list[str]
    tenant_id: str


@dataclass
class Tenant:
    id: str
    domain: str
    name: str
    kind: str  # "partner" | "customer"
    region: str
    country: str
    created_at: datetime
    partner_tenant_id: str | None  # customers: their partner of record in the region
    relationship_status: str  # "active" | "expired" | "none": is the partner's access live
    relationship_end: datetime | None
    propagated_at: float | None  # epoch s when the relationship reached the tenant
    users: int
    devices: int
    big: bool
    initial_domain: str = ""  # partners: the <name>.onmicrosoft.com domain besides `domain`
    relationship_type: str = "none"  # gdap.TYPES: "gdap" | "dap" | "gdap+dap" | "mlt" | "none"
    relationships: list[gdap.GdapRelationship] = field(default_factory=list)
    app_consent: gdap.AppConsent = field(default_factory=lambda: gdap.AppConsent(False))


@dataclass
class Region:
    slug: str
    name: str
    partner_name: str
    partner_tenant_id: str
    partner_domain: str
    countries: tuple[str, ...]
    app: App
    groups: list[gdap.PartnerGroup] = field(default_factory=list)  # GDAP security groups


@dataclass
class Writes:
    """What Graph writes changed in a world the seed generates: property values by (tenant,
    object id) laid over the generated objects, and generated group members removed. A new
    world (/_sim/reset) starts without any."""

    _patches: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _removed: set[tuple[str, str, str]] = field(default_factory=set)
    _revision: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def patch(self, tenant_id: str, object_id: str, changes: dict[str, Any]) -> None:
        with self._lock:
            self._patches.setdefault((tenant_id, object_id.lower()), {}).update(changes)
            self._revision[tenant_id] = self._revision.get(tenant_id, 0) + 1

    def patched(self, tenant_id: str, object_id: str) -> dict[str, Any]:
        """The values writes gave this object (a copy; empty when none)."""
        with self._lock:
            return dict(self._patches.get((tenant_id, object_id.lower()), {}))

    def remove_member(self, tenant_id: str, group_id: str, object_id: str) -> None:
        with self._lock:
            self._removed.add((tenant_id, group_id.lower(), object_id.lower()))
            self._revision[tenant_id] = self._revision.get(tenant_id, 0) + 1

    def restore_member(self, tenant_id: str, group_id: str, object_id: str) -> None:
        with self._lock:
            self._removed.discard((tenant_id, group_id.lower(), object_id.lower()))
            self._revision[tenant_id] = self._revision.get(tenant_id, 0) + 1

    def removed(self, tenant_id: str, group_id: str, object_id: str) -> bool:
        with self._lock:
            return (tenant_id, group_id.lower(), object_id.lower()) in self._removed

    def revision(self, tenant_id: str) -> int:
        """Changes with every write in the tenant: keys caches of what writes can change."""
        with self._lock:
            return self._revision.get(tenant_id, 0)


def guid(seed: int, *parts: object) -> str:
    """A GUID derived from the seed and a path of names: stable across runs."""
    return str(uuid.uuid5(_NAMESPACE, "/".join([str(seed), *map(str, parts)])))


def _secret(seed: int, slug: str) -> str:
    digest = hashlib.sha256(f"{seed}/secret/{slug}".encode()).hexdigest()
    # Entra client secrets are 40 characters with a "~" in them; keep the look.
    return f"Sim8Q~{digest[:34]}"


def _slugify(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


@dataclass
class World:
    seed: int
    regions: list[Region]
    tenants: dict[str, Tenant]
    agents: dict[str, Agent]  # by lower-case username
    _by_domain: dict[str, str] = field(default_factory=dict, repr=False)
    _customers: dict[str, list[Tenant]] = field(default_factory=dict, repr=False)
    _apps: dict[str, App] = field(default_factory=dict, repr=False)
    # (partner tenant id, relationship id) -> customer; checked on every use, rebuilt on a miss.
    relationship_index: dict[tuple[str, str], Tenant] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    writes: Writes = field(default_factory=Writes, repr=False)
    # Seconds until a newly activated relationship reaches a tenant; set by SimContext.
    propagation_delay_for: Callable[[str], float] = field(default=lambda _tid: 180.0, repr=False)
    # Template ids of the GDAP relationship a customer created through Partner Center gets.
    default_gdap_roles: list[str] = field(
        default_factory=lambda: gdap.role_ids(gdap.CREATE_DEFAULT_ROLES)
    )

    @classmethod
    def build(
        cls,
        *,
        seed: int = 1,
        customers: int = 8,
        users: int = 25,
        devices: int = 20,
        big_tenant_users: int = 0,
        demo: bool = False,
    ) -> World:
        world = cls(seed=seed, regions=[], tenants={}, agents={})
        now = datetime.now(UTC)
        for spec in _REGIONS:
            world._build_region(spec, seed, customers, users, devices, now)
        if big_tenant_users > 0:
            big = world.customers_of(world.regions[0].partner_tenant_id)[0]
            big.users = big_tenant_users
            big.big = True
        if demo:
            world._demo_resize()
        return world

    # `make run`'s sizes (by customer index, in every region): lists with many pages, a long
    # device table, and a customer without any device, as a real partner has.
    DEMO_SIZES: ClassVar[dict[int, dict[str, int]]] = {
        0: {"users": 3200, "devices": 60},
        1: {"users": 140, "devices": 450},
        2: {"users": 12, "devices": 0},
    }

    def _demo_resize(self) -> None:
        for region in self.regions:
            seeded = [
                t
                for t in self.customers_of(region.partner_tenant_id)
                if t.relationship_status == "active" and not t.big
            ]
            for index, sizes in self.DEMO_SIZES.items():
                if index < len(seeded):
                    seeded[index].users = sizes["users"]
                    seeded[index].devices = sizes["devices"]

    def _build_region(
        self, spec: dict, seed: int, customers: int, users: int, devices: int, now: datetime
    ) -> None:
        slug = spec["slug"]
        rnd = random.Random(f"{seed}/{slug}")
        partner_id = guid(seed, slug, "partner")
        app = App(
            client_id=guid(seed, slug, "app"),
            client_secret=_secret(seed, slug),
            display_name=f"{spec['partner_name']} Portal",
            home_tenant_id=partner_id,
            sp_object_id=guid(seed, slug, "app", "sp"),
            multi_tenant=True,
            permissions=APP_PERMISSIONS,
        )
        region = Region(
            slug=slug,
            name=spec["name"],
            partner_name=spec["partner_name"],
            partner_tenant_id=partner_id,
            partner_domain=spec["partner_domain"],
            countries=tuple(dict.fromkeys(c for c, _ in spec["countries"])),
            app=app,
        )
        self.regions.append(region)
        self._apps[app.client_id] = app
        self._add(
            Tenant(
                id=partner_id,
                domain=spec["partner_domain"],
                name=spec["partner_name"],
                kind="partner",
                region=slug,
                country=spec["countries"][0][0],
                created_at=datetime(2019, 3, 1, tzinfo=UTC),
                partner_tenant_id=None,
                relationship_status="none",
                relationship_end=None,
                propagated_at=None,
                users=len(spec["agents"]),
                devices=0,
                big=False,
                initial_domain=spec["initial_domain"],
            )
        )
        for local, given, surname, roles in spec["agents"]:
            username = f"{local}@{spec['partner_domain']}"
            self.agents[username] = Agent(
                object_id=guid(seed, slug, "agent", local),
                username=username,
                password=DEMO_PASSWORD,
                display_name=f"{given} {surname}",
                given_name=given,
                surname=surname,
                roles=list(roles),
                tenant_id=partner_id,
            )
        region_agents = [a for a in self.agents.values() if a.tenant_id == partner_id]
        gdap.seed_groups(region, region_agents, lambda name: guid(seed, slug, "group", name))
        # `customers` active relationships plus one expired one per region.
        for index in range(customers + 1):
            expired = index == customers
            country, legal = rnd.choice(spec["countries"])
            name = f"{rnd.choice(_COMPANY_BASES)} {rnd.choice(_INDUSTRIES)}"
            created = datetime(2021, 1, 1, tzinfo=UTC) + timedelta(days=rnd.randrange(1400))
            tenant = Tenant(
                id=guid(seed, slug, "customer", index),
                domain=self._free_domain(_slugify(name)),
                name=f"{name} {legal}",
                kind="customer",
                region=slug,
                country=country,
                created_at=created,
                partner_tenant_id=partner_id,
                relationship_status="expired" if expired else "active",
                relationship_end=(
                    now - timedelta(days=rnd.randrange(5, 90))
                    if expired
                    else now + timedelta(days=rnd.randrange(30, 700))
                ),
                # Seeded relationships propagated long ago (epoch 0 is "always").
                propagated_at=None if expired else 0.0,
                # Exactly the flag values: benchmarks size their work from them.
                users=max(1, users),
                devices=max(0, devices),
                big=False,
            )
            gdap.seed_customer(tenant, index, expired, region, seed)
            self._add(tenant)

    def _free_domain(self, base: str) -> str:
        domain, n = f"{base}.onmicrosoft.com", 1
        while domain in self._by_domain:
            n += 1
            domain = f"{base}{n}.onmicrosoft.com"
        return domain

    def _add(self, tenant: Tenant) -> None:
        self.tenants[tenant.id] = tenant
        self._by_domain[tenant.domain.lower()] = tenant.id
        if tenant.initial_domain:
            self._by_domain[tenant.initial_domain.lower()] = tenant.id
        if tenant.partner_tenant_id:
            self._customers.setdefault(tenant.partner_tenant_id, []).append(tenant)

    def find_tenant(self, id_or_domain: str) -> Tenant | None:
        key = id_or_domain.lower()
        tenant = self.tenants.get(key)
        if tenant is None and key in self._by_domain:
            tenant = self.tenants.get(self._by_domain[key])
        return tenant

    def region(self, slug: str) -> Region | None:
        return next((r for r in self.regions if r.slug == slug), None)

    def region_of_tenant(self, tenant_id: str) -> Region | None:
        tenant = self.tenants.get(tenant_id)
        return self.region(tenant.region) if tenant else None

    def customers_of(self, partner_tenant_id: str) -> list[Tenant]:
        return list(self._customers.get(partner_tenant_id, ()))

    def app(self, client_id: str) -> App | None:
        return self._apps.get(client_id.lower())

    def agent(self, username: str) -> Agent | None:
        return self.agents.get(username.strip().lower())

    def agent_by_oid(self, object_id: str) -> Agent | None:
        return next((a for a in self.agents.values() if a.object_id == object_id), None)

    def relationship_live(self, tenant: Tenant, partner_tenant_id: str, now: float) -> bool:
        """The partner's relationship to the tenant is active and has reached it."""
        return (
            tenant.partner_tenant_id == partner_tenant_id
            and tenant.relationship_status == "active"
            and tenant.propagated_at is not None
            and tenant.propagated_at <= now
        )

    def delegated_access(self, agent: Agent, tenant_id: str, now: float) -> bool:
        """Own tenant, or an active + propagated relationship of the agent's partner."""
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            return False
        return tenant.id == agent.tenant_id or self.relationship_live(tenant, agent.tenant_id, now)

    def app_access(self, app: App, tenant_id: str, now: float) -> bool:
        """Home tenant, or the app's service principal is there (consent, or DAP's AdminAgents
        preconsent) and the partner's relationship is active and has propagated."""
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            return False
        if tenant.id == app.home_tenant_id:
            return True
        return access.app_present(app, tenant, now) and self.relationship_live(
            tenant, app.home_tenant_id, now
        )

    def create_customer(
        self,
        *,
        partner_tenant_id: str,
        domain_prefix: str,
        company_name: str,
        country: str,
        now: float,
    ) -> Tenant:
        """A new customer tenant; its relationship propagates after the configured delay.

        Raises ValueError when the domain is taken (Partner Center answers an error, it never
        creates a second tenant for the same domain).
        """
        partner = self.tenants[partner_tenant_id]
        domain = f"{_slugify(domain_prefix)}.onmicrosoft.com"
        with self._lock:
            if domain in self._by_domain:
                raise ValueError(f"The domain {domain} is already in use.")
            rnd = random.Random(f"{self.seed}/created/{domain}")
            tenant = Tenant(
                id=guid(self.seed, "created", domain),
                domain=domain,
                name=company_name,
                kind="customer",
                region=partner.region,
                country=country,
                created_at=datetime.fromtimestamp(now, UTC),
                partner_tenant_id=partner_tenant_id,
                relationship_status="active",
                relationship_end=datetime.fromtimestamp(now, UTC) + timedelta(days=730),
                propagated_at=None,
                users=rnd.randrange(1, 4),
                devices=0,
                big=False,
            )
            tenant.propagated_at = now + self.propagation_delay_for(tenant.id)
            gdap.created_customer(
                tenant, self.seed, list(self.default_gdap_roles), tenant.created_at
            )
            self._add(tenant)
        return tenant

    def accept_invitation(self, tenant_id: str, now: float) -> Tenant:
        """The customer accepts the partner's invitation: active now, propagates later."""
        tenant = self.tenants[tenant_id]
        with self._lock:
            tenant.relationship_status = "active"
            tenant.relationship_end = datetime.fromtimestamp(now, UTC) + timedelta(days=730)
            tenant.propagated_at = now + self.propagation_delay_for(tenant.id)
            for rel in tenant.relationships:
                rel.status, rel.end = "active", tenant.relationship_end
                rel.activated = rel.last_modified = datetime.fromtimestamp(now, UTC)
        return tenant
