""" "Consent every customer that lacks it": a background run (portal/runs.py) acting as the
admin who started it, through a per-run delegated grant of their tokens (regions.delegation).

Two passes, so one propagation delay covers every customer instead of one each: first Partner
Center's consent for every customer, then, per customer, the wait, the app roles and the
client-credentials proof (customers/consent.py). A run taken over by another worker skips the
customers already done; the grant is ended when the run finishes, and the watch ends the
grants of runs that failed without it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from customers.consent import (
    ConsentKind,
    ConsentOutcome,
    ConsentRequest,
    Wait,
    consent_complete,
    consent_request,
)
from customers.models import (
    ConsentResult,
    ConsentRun,
    ConsentState,
    Customer,
    RelationshipStatus,
)
from portal.runs import (
    LeaseLost,
    run_claim,
    run_finish,
    run_heartbeat,
    run_lock,
    run_start,
    run_update,
    runs_abandoned,
)
from regions.delegation import (
    GrantExpired,
    grant_capture,
    grant_end,
    grants_purge,
    graph_as_grant,
    partner_center_as_grant,
)
from regions.models import DelegatedGrant, Region

log = logging.getLogger(__name__)

GRANT_PURPOSE = "consent job"


def customers_lacking_consent(*, region: Region) -> QuerySet[Customer]:
    """The region's customers with an active relationship whose app is not known to work."""
    return (
        Customer.objects.filter(region=region, relationship_status=RelationshipStatus.ACTIVE)
        .exclude(consent_state=ConsentState.CONSENTED)
        .order_by("name", "tenant_id")
    )


def consent_run_start(
    *, region: Region, session: SessionBase, requested_by: str
) -> tuple[ConsentRun | None, bool]:
    """A queued consent job for the region with the session's tokens lent to it, or the
    unfinished one already there; (None, False) when no customer lacks consent."""
    with transaction.atomic():
        lacking = list(customers_lacking_consent(region=region))
        if not lacking:
            unfinished = ConsentRun.objects.filter(
                region=region, status__in=ConsentRun.UNFINISHED
            ).first()
            return unfinished, False
        run, created = run_start(ConsentRun, key={"region": region}, requested_by=requested_by)
        if not created:
            return run, False
        run.grant_id = grant_capture(
            session=session,
            region=region,
            purpose=GRANT_PURPOSE,
            ttl=settings.CONSENT_GRANT_TTL_SECONDS,
            by=requested_by,
        )
        run.total = len(lacking)
        run.step = "Queued"
        run.save(update_fields=["grant_id", "total", "step"])
        ConsentResult.objects.bulk_create([ConsentResult(run=run, customer=c) for c in lacking])
    return run, True


def consent_runs_abandoned() -> list[int]:
    return runs_abandoned(ConsentRun)


def consent_grants_tidy() -> None:
    """End the grants of finished runs (a run failed by its attempts limit never ended its
    own) and purge expired ones."""
    for run in ConsentRun.objects.filter(
        status__in=[ConsentRun.Status.DONE, ConsentRun.Status.FAILED], grant_id__isnull=False
    ):
        grant_end(str(run.grant_id))
        ConsentRun.objects.filter(pk=run.pk).update(grant_id=None)
    grants_purge()


def customers_consent(*, run_id: int) -> ConsentRun | None:
    """Run (or take over and finish) a queued consent job; None when it is not ours."""
    run = run_claim(ConsentRun, pk=run_id)
    if run is None:
        return None
    grant_id = str(run.grant_id) if run.grant_id else ""
    try:
        if not grant_id or not DelegatedGrant.objects.filter(pk=grant_id).exists():
            raise GrantExpired()
        _work(run, grant_id)
    except LeaseLost:
        log.warning("consent job %s: another worker took it over; stopping", run.pk)
        return None
    except GrantExpired as exc:
        return _end(run, grant_id, error=exc.description)
    except Exception:
        log.exception("consent job %s of region %s crashed", run.pk, run.region.slug)
        return _end(run, grant_id, error="Unexpected error; see the worker log.")
    return run


def _end(run: ConsentRun, grant_id: str, *, error: str) -> ConsentRun | None:
    try:
        run_finish(run, status=ConsentRun.Status.FAILED, error=error)
    except LeaseLost:
        return None
    grant_end(grant_id)
    ConsentRun.objects.filter(pk=run.pk).update(grant_id=None)
    return run


def _work(run: ConsentRun, grant_id: str) -> None:
    region = run.region
    actor = f"{run.requested_by} (consent job {run.pk})"
    partner_center = partner_center_as_grant(grant_id=grant_id, region=region)

    def graph_for(tenant_id: str) -> Any:
        return graph_as_grant(grant_id=grant_id, region=region, tenant_id=tenant_id, fresh=True)

    def beat() -> None:
        run_heartbeat(run, every=ConsentRun.lease_seconds() / 4)

    pending = list(run.results.filter(finished_at__isnull=True).select_related("customer"))
    # Pass 1: Partner Center's consent for every customer (their propagation runs in parallel).
    requested: list[tuple[ConsentResult, ConsentRequest]] = []
    for i, result in enumerate(pending):
        run_heartbeat(run, step="Asking Partner Center for consent", progress=_pct(i, pending, 0))
        requested.append(
            (
                result,
                consent_request(
                    region=region, customer=result.customer, partner_center=partner_center
                ),
            )
        )
    # Pass 2: per customer, wait for it to arrive, assign the app roles, prove client credentials.
    for i, (result, asked) in enumerate(requested):
        run_heartbeat(
            run,
            step=f"Consenting {result.customer.name}",
            progress=_pct(i, requested, 40),
        )
        outcome = consent_complete(
            region=region,
            customer=result.customer,
            graph_for=graph_for,
            partner_center=partner_center,
            requested=asked,
            actor=actor,
            wait=Wait.for_run(beat),
            audit_detail={"job": run.pk},
        )
        _result_save(run, result, outcome)
        if (
            outcome.kind == ConsentKind.SIGN_IN
            and not DelegatedGrant.objects.filter(pk=grant_id).exists()
        ):
            raise GrantExpired()
    run_finish(
        run,
        status=ConsentRun.Status.DONE,
        step="Done",
        progress=100,
    )
    grant_end(grant_id)
    ConsentRun.objects.filter(pk=run.pk).update(grant_id=None)


def _pct(i: int, items: list[Any], start: int) -> int:
    span = 40 if start == 0 else 59
    return start + (span * i // max(len(items), 1))


def _result_save(run: ConsentRun, result: ConsentResult, outcome: ConsentOutcome) -> None:
    """The customer's result and the run's counts, written only while we hold the run."""
    with transaction.atomic():
        run_lock(run)
        ConsentResult.objects.filter(pk=result.pk).update(
            kind=str(outcome.kind),
            ok=outcome.ok,
            message=outcome.message,
            finished_at=timezone.now(),
        )
        counts = {
            "succeeded": run.results.filter(ok=True, finished_at__isnull=False).count(),
            "failed": run.results.filter(ok=False, finished_at__isnull=False).count(),
        }
        run_update(run, **counts)
