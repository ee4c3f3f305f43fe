"""Reads for the region admin pages: the setup checklist's verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from audit.models import AuditEvent
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
