"""Writes about regions: configuration (audited), setup-check results, preconsent."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from regions import setup
from regions.clients import delegated_token
from regions.models import Cloud, Region, RegionDomain

if TYPE_CHECKING:
    from django.http import HttpRequest

MASK = "***"
# Stored encrypted and never shown: the audit log says that they changed, not what to.
_MASKED_FIELDS = ("client_secret", "certificate_key")


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
    _set_domains(region, domains)
    return region


def _set_domains(region: Region, domains: list[str]) -> None:
    wanted = {d.strip().lower() for d in domains}
    region.domains.exclude(domain__in=wanted).delete()
    for domain in wanted:
        RegionDomain.objects.update_or_create(domain=domain, defaults={"region": region})


def _snapshot(region: Region | None) -> dict[str, Any]:
    """The audited view of a region; secrets as their ciphertext, only to tell a change."""
    if region is None or region.pk is None:
        return {}

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "name": region.name,
        "slug": region.slug,
        "active": region.active,
        "partner_tenant_id": str(region.partner_tenant_id),
        "domains": sorted(region.domains.values_list("domain", flat=True)),
        "cloud": region.cloud,
        "login_host": region.login_host,
        "graph_base_url": region.graph_base_url,
        "graph_resource": region.graph_resource,
        "partner_center_base_url": region.partner_center_base_url,
        "ca_bundle": region.ca_bundle,
        "client_id": str(region.client_id),
        "credential_type": region.credential_type,
        "client_secret": region.client_secret_encrypted,
        "client_secret_expires_at": iso(region.client_secret_expires_at),
        "certificate_thumbprint": region.certificate_thumbprint,
        "certificate_expires_at": iso(region.certificate_expires_at),
        "certificate_key": region.certificate_key_encrypted,
    }


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    changed = {}
    for key, new in after.items():
        old = before.get(key)
        if old == new:
            continue
        if key in _MASKED_FIELDS:
            changed[key] = [MASK if old else None, MASK if new else None]
        else:
            changed[key] = [old, new]
    return changed


@transaction.atomic
def region_save(
    *,
    region: Region,
    domains: list[str],
    client_secret: str = "",
    client_secret_expires_at: datetime | None = None,
    certificate_pem: str = "",
    certificate_key: str = "",
    request: HttpRequest | None = None,
) -> Region:
    """Create or update a region from validated values and record who changed which fields.

    Empty `client_secret` / `certificate_key` keep the stored ones (they are write-only)."""
    created = region.pk is None
    before = {} if created else _snapshot(Region.objects.get(pk=region.pk))
    if client_secret:
        region.set_client_secret(client_secret)
    if not region.uses_certificate:
        # A secret's expiry is only edited while the secret is the credential in use.
        region.client_secret_expires_at = client_secret_expires_at
    if certificate_pem and (certificate_key or certificate_pem != region.certificate_pem):
        region.set_certificate(
            private_key_pem=certificate_key or region.certificate_private_key,
            certificate_pem=certificate_pem,
        )
    region.full_clean(exclude=["client_secret_encrypted", "certificate_key_encrypted"])
    region.save()
    _set_domains(region, domains)
    changed = _changes(before, _snapshot(region))
    if changed:
        # Results of the old configuration say nothing about the new one.
        Region.objects.filter(pk=region.pk).update(setup_results={})
        region.setup_results = {}
        audit_record(
            action="region.create" if created else "region.update",
            request=request,
            region=region.slug,
            detail={"region": region.slug, "changed": changed},
        )
    return region


def region_setup_record(*, region: Region, key: str, status: str) -> None:
    """Remember the latest result of one setup check (status only)."""
    with transaction.atomic():
        locked = Region.objects.select_for_update().get(pk=region.pk)
        results = dict(locked.setup_results or {})
        results[key] = {"status": status, "at": timezone.now().isoformat()}
        Region.objects.filter(pk=region.pk).update(setup_results=results)
    region.setup_results = results


def region_check_run(*, region: Region, key: str) -> setup.CheckResult:
    """Run one setup check against Microsoft and record its status."""
    result = setup.run_check(region=region, key=key)
    region_setup_record(region=region, key=key, status=result.status)
    return result


def region_preconsent(*, region: Region, request: HttpRequest | None = None) -> setup.CheckResult:
    """Add the region's app to the partner tenant's AdminAgents group; audited.

    An admin of this region's partner tenant does it with their own sign-in, as Microsoft's
    steps have a partner admin do; for another region the app's own credential is used."""
    token = None
    home_tenant = str(getattr(getattr(request, "user", None), "tenant_id", "") or "")
    if request is not None and home_tenant == str(region.partner_tenant_id):
        session, tenant_id = request.session, str(region.partner_tenant_id)

        def token() -> str:
            return delegated_token(session=session, region=region, tenant_id=tenant_id)

    result = setup.preconsent(region=region, token=token)
    audit_record(
        action="region.preconsent",
        request=request,
        region=region.slug,
        detail={"region": region.slug, "status": result.status, "summary": result.summary},
    )
    if result.ok:
        region_setup_record(region=region, key="adminagents", status=setup.Status.OK)
    return result
