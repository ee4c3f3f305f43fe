"""Writes about regions: configuration (audited), setup-check results, preconsent."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from audit.changes import field_changes, field_snapshot
from audit.services import audit_record
from regions import setup
from regions.clients import delegated_token
from regions.models import CONFIGURED_FIELDS, Region, RegionDomain

if TYPE_CHECKING:
    from django.http import HttpRequest

# What the audit log records of a region: each setting an admin edits (CONFIGURED_FIELDS, the
# endpoints as CloudEndpoints declares them) and the credential's public facts.
AUDITED_FIELDS: tuple[str, ...] = (
    *CONFIGURED_FIELDS,
    "client_secret_expires_at",
    "certificate_thumbprint",
    "certificate_expires_at",
)
# Stored encrypted and never shown: compared by ciphertext, logged only as "changed".
AUDITED_SECRETS: dict[str, str] = {
    "client_secret": "client_secret_encrypted",
    "certificate_key": "certificate_key_encrypted",
}


def _set_domains(region: Region, domains: list[str]) -> None:
    wanted = {d.strip().lower() for d in domains}
    region.domains.exclude(domain__in=wanted).delete()
    for domain in wanted:
        RegionDomain.objects.update_or_create(domain=domain, defaults={"region": region})


def _snapshot(pk: int) -> dict[str, Any]:
    """The audited view of the stored region; secrets as their ciphertext, only to tell a change."""
    region = Region.objects.get(pk=pk)
    values = field_snapshot(region, AUDITED_FIELDS)
    values["domains"] = sorted(region.domains.values_list("domain", flat=True))
    values.update({name: getattr(region, stored) for name, stored in AUDITED_SECRETS.items()})
    return values


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
    actor: str = "",
) -> Region:
    """Create or update a region from validated values and record who changed which fields.

    The one writer of region configuration: the admin pages pass `request`, commands an
    `actor` name. Empty `client_secret` / `certificate_key` keep the stored ones (they are
    write-only)."""
    created = region.pk is None
    before = {} if created else _snapshot(region.pk)
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
    changed = field_changes(before, _snapshot(region.pk), masked=AUDITED_SECRETS)
    if changed:
        # Results of the old configuration say nothing about the new one.
        Region.objects.filter(pk=region.pk).update(setup_results={})
        region.setup_results = {}
        audit_record(
            action="region.create" if created else "region.update",
            request=request,
            actor=actor,
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
