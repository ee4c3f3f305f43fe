"""Reads for the region admin pages: the setup checklist's verdict, what needs an admin."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse

from audit.models import AuditEvent
from customers.consent_jobs import customers_lacking_consent
from customers.models import ConsentState
from regions.models import Region
from regions.setup import CHECKS, Status


@dataclass(frozen=True)
class SetupVerdict:
    """What the checklist's summary may say: never "passed" while a failure stands."""

    passed: bool
    failed: int  # checks whose last result is a failure
    # A "Preconsent now" that failed: `current` when no adminagents check has passed since.
    preconsent_failed_at: datetime | None = None
    preconsent_failure: str = ""
    preconsent_failure_current: bool = False


def _at(stored: dict | None) -> datetime | None:
    if not stored or not stored.get("at"):
        return None
    return datetime.fromisoformat(stored["at"])


def setup_verdict(*, region: Region) -> SetupVerdict:
    """The verdict over the region's last stored check results and its last preconsent."""
    results = region.setup_results or {}
    statuses = [results.get(c.key, {}).get("status") for c in CHECKS]
    failed = sum(s == Status.FAIL for s in statuses)
    complete = all(s in (Status.OK, Status.WARN) for s in statuses)
    last = (
        AuditEvent.objects.filter(action="region.preconsent", region=region.slug)
        .order_by("-at")
        .first()
    )
    if last is None or (last.detail or {}).get("status") != Status.FAIL:
        return SetupVerdict(passed=complete, failed=failed)
    checked = _at(results.get("adminagents"))
    current = checked is None or checked <= last.at
    return SetupVerdict(
        passed=complete and not current,
        failed=failed,
        preconsent_failed_at=last.at,
        preconsent_failure=str((last.detail or {}).get("summary") or ""),
        preconsent_failure_current=current,
    )


@dataclass(frozen=True)
class Attention:
    """One thing in a region's setup that needs an admin, with where to fix it."""

    region: Region
    key: str  # "credential" | "expiry" | "checks" | "consent"
    text: str
    url: str
    link: str
    danger: bool = False


def region_attention(*, regions: Iterable[Region], user_region_id: int | None) -> list[Attention]:
    """What needs the admin in each of their regions: a missing or expiring app credential,
    failing setup checks, customers whose app consent fails (only for the admin's own region,
    where "Consent all" acts)."""
    items: list[Attention] = []
    for region in regions:
        edit, setup = reverse("region_edit", args=[region.slug]), region.get_setup_url()
        if not region.has_credential:
            items.append(
                Attention(
                    region,
                    "credential",
                    f"Region {region.name} has no app credential: nobody there can sign in "
                    "and nothing reads Microsoft.",
                    edit,
                    "Enter the client secret or certificate",
                    danger=True,
                )
            )
        elif region.secret_expired or region.credential_expires_soon:
            expires = region.credential_expires_at
            when = f"{expires:%Y-%m-%d}" if expires else ""
            items.append(
                Attention(
                    region,
                    "expiry",
                    f"The app credential of region {region.name} expired on {when}."
                    if region.secret_expired
                    else f"The app credential of region {region.name} expires on {when}.",
                    edit,
                    "Enter a new credential",
                    danger=region.secret_expired,
                )
            )
        failed = setup_verdict(region=region).failed
        if failed:
            items.append(
                Attention(
                    region,
                    "checks",
                    f"{failed} setup check{'s' if failed != 1 else ''} of region {region.name} "
                    "failed when last run.",
                    f"{setup}?run=1",
                    "Check the setup again",
                    danger=True,
                )
            )
        if region.pk == user_region_id:
            failing = (
                customers_lacking_consent(region=region)
                .exclude(consent_state=ConsentState.UNKNOWN)
                .count()
            )
            if failing:
                items.append(
                    Attention(
                        region,
                        "consent",
                        f"The app's consent fails for {failing} customer"
                        f"{'s' if failing != 1 else ''} of region {region.name}.",
                        reverse("customer_list"),
                        "Consent the app for them",
                    )
                )
    return items
