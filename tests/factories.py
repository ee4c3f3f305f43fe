"""Database rows without the simulator: regions, customers, users and signed-in clients.

For tests whose point is the database (who may see what, what a page shows from stored rows);
anything that talks to Microsoft uses the simulator fixtures in tests/conftest.py instead.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.test import Client

from accounts import sessionclock
from accounts.models import Role, User
from customers.models import Customer, RelationshipStatus
from customers.services import customers_sync, sync_run_start
from regions.models import CLOUD_PRESETS, Cloud, Region, RegionDomain

# In ALLOWED_HOSTS (Django's default "testserver" is not).
HOST = "localhost"


def _short() -> str:
    return uuid.uuid4().hex[:8]


def region_make(slug: str = "us", **overrides: Any) -> Region:
    """An active region on the global cloud, with a secret and one sign-in domain
    (`domain=` to choose it; default `<slug>.partner.example`)."""
    domain = overrides.pop("domain", f"{slug}.partner.example")
    secret = overrides.pop("client_secret", f"secret-{uuid.uuid4()}")
    fields: dict[str, Any] = {
        "slug": slug,
        "name": f"Region {slug.upper()}",
        "partner_tenant_id": uuid.uuid4(),
        "client_id": uuid.uuid4(),
        "cloud": Cloud.GLOBAL,
        **CLOUD_PRESETS[Cloud.GLOBAL].as_dict(),
        **overrides,
    }
    region = Region(**fields)
    region.set_client_secret(secret)
    region.save()
    RegionDomain.objects.create(region=region, domain=domain)
    return region


def customer_make(*, region: Region, **overrides: Any) -> Customer:
    """A customer of `region` with an active admin relationship."""
    token = _short()
    fields: dict[str, Any] = {
        "region": region,
        "tenant_id": uuid.uuid4(),
        "name": f"Customer {token} Ltd",
        "default_domain": f"customer{token}.onmicrosoft.com",
        "relationship_status": RelationshipStatus.ACTIVE,
        **overrides,
    }
    return Customer.objects.create(**fields)


def user_make(*, region: Region | None, role: Role = Role.AGENT, **overrides: Any) -> User:
    """A user as sign-in leaves one: keyed on (partner tenant id, object id), staff if admin
    (never a superuser)."""
    tenant_id = overrides.pop("tenant_id", region.partner_tenant_id if region else uuid.uuid4())
    object_id = overrides.pop("object_id", uuid.uuid4())
    upn = overrides.pop("upn", f"{role.value}-{_short()}@{_domain_of(region)}")
    fields: dict[str, Any] = {
        "username": f"{tenant_id}/{object_id}",
        "tenant_id": tenant_id,
        "object_id": object_id,
        "upn": upn,
        "email": upn,
        "display_name": upn.split("@")[0].title(),
        "region": region,
        "role": role,
        "is_staff": role in {Role.ADMIN, Role.GLOBAL_ADMIN},
        "is_superuser": False,
        **overrides,
    }
    user = User(**fields)
    user.set_unusable_password()
    user.save()
    return user


def _domain_of(region: Region | None) -> str:
    first = region.domains.first() if region else None
    return first.domain if first else "partner.example"


def client_for(user: User) -> Client:
    """A test client signed in as `user`, its session clock started as sign-in starts it."""
    client = Client(HTTP_HOST=HOST)
    client.force_login(user)
    session = client.session
    sessionclock.mark_signed_in(session)
    session.save()
    return client


def customers_synced(region: Region) -> None:
    """Run the region's customer sync here and now (as the worker would), and check it ended."""
    run, _ = sync_run_start(region=region)
    done = customers_sync(run_id=run.pk)
    assert done is not None and done.status == "done", done and done.error


def consent_checks_aged(region: Region) -> None:
    """Time passes: every consent check of the region's customers is older than
    CONSENT_RECHECK_SECONDS (a tenant's is due at most 1.25x of it on), so the next sync
    checks every customer's consent again."""
    from datetime import timedelta

    from django.conf import settings
    from django.db.models import F

    from customers.models import Customer

    Customer.objects.filter(region=region, consent_checked_at__isnull=False).update(
        consent_checked_at=F("consent_checked_at")
        - timedelta(seconds=1.3 * settings.CONSENT_RECHECK_SECONDS)
    )


def chunk_claimed(sweep: Any, customer_ids: list[int] | None = None) -> Any:
    """A chunk of `sweep` claimed by this process, for storing outcomes made up by a test
    through the sweep's own writer (compliance.services.snapshots_record)."""
    from compliance.models import SweepChunk
    from portal.runs import run_claim

    number = SweepChunk.objects.filter(sweep=sweep).count()
    chunk = SweepChunk.objects.create(sweep=sweep, number=number, customer_ids=customer_ids or [])
    claimed = run_claim(SweepChunk, pk=chunk.pk)
    assert claimed is not None
    return claimed
