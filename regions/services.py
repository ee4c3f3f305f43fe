"""Writes about regions."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from regions.models import Cloud, Region, RegionDomain


@transaction.atomic
def region_upsert(
    *,
    slug: str,
    name: str,
    partner_tenant_id: str,
    domains: list[str],
    client_id: str,
    client_secret: str,
    login_host: str,
    graph_base_url: str,
    partner_center_base_url: str,
    cloud: str = Cloud.CUSTOM,
    ca_bundle: str = "",
    **extra: Any,
) -> Region:
    """Create or update a region by slug, with exactly the given sign-in domains."""
    region = Region.objects.filter(slug=slug).first() or Region(slug=slug)
    region.name = name
    region.partner_tenant_id = partner_tenant_id
    region.client_id = client_id
    region.set_client_secret(client_secret)
    region.login_host = login_host
    region.graph_base_url = graph_base_url
    region.partner_center_base_url = partner_center_base_url
    region.cloud = cloud
    region.ca_bundle = ca_bundle
    region.active = True
    for key, value in extra.items():
        setattr(region, key, value)
    region.full_clean(exclude=["client_secret_encrypted"])
    region.save()
    wanted = {d.strip().lower() for d in domains}
    region.domains.exclude(domain__in=wanted).delete()
    for domain in wanted:
        RegionDomain.objects.update_or_create(domain=domain, defaults={"region": region})
    return region
