"""What compliance does when the apps below it report something (connected in apps.py)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from customers.signals import sync_finished

log = logging.getLogger(__name__)


def first_sweep(sender: Any, *, region_id: int, **kwargs: Any) -> None:
    """A region's first customer sync starts its first sweep, so its compliance dashboard is
    not empty until the schedule's next sweep (hours later)."""
    from compliance.models import ComplianceSweep
    from compliance.selectors import swept_customers
    from compliance.tasks import sweep_request
    from regions.models import Region

    if not settings.COMPLIANCE_FIRST_SWEEP:
        return
    region = Region.objects.filter(pk=region_id, active=True).first()
    if region is None or ComplianceSweep.objects.filter(region=region).exists():
        return
    if not swept_customers().filter(region=region).exists():
        return  # nothing to sweep yet: the next sync tries again
    sweep, created = sweep_request(region=region, requested_by="first customer sync")
    if created:
        log.info("region %s: first compliance sweep %s queued", region.slug, sweep.pk)


def connect() -> None:
    sync_finished.connect(first_sweep, dispatch_uid="compliance.first_sweep")
