"""Reading every customer's Intune devices as the region's app, many customers at a time.

No ORM in here: worker threads only talk HTTP, the calling thread owns the database. Threads
rather than one Celery task per customer: the work is waiting on Microsoft (I/O, ~100 ms
per request), so 20 threads in one process keep 20 requests in flight on a 2-core machine
where 20 prefork processes would cost ~2 GB and 1,000 broker round trips per sweep.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connections
from django.utils import timezone

from compliance.policy_states import failing_policies_read
from compliance.tally import SWEEP_FIELDS, Tally, graph_time
from mscloud.errors import ErrorKind, MicrosoftError
from mscloud.identity import IdentityError
from regions.clients import app_token_drop, graph_as_app
from regions.models import Region

log = logging.getLogger(__name__)

MANAGED_DEVICES = "/deviceManagement/managedDevices"


@dataclass(frozen=True)
class KnownPolicies:
    """A noncompliant device's failing policies as an earlier sweep read them."""

    last_sync_at: datetime  # the device's lastSyncDateTime then
    read_at: datetime
    names: tuple[str, ...]


@dataclass(frozen=True)
class Target:
    customer_id: int
    tenant_id: str
    region: Region
    relationship_status: str = "active"  # as the last sync stored it: explains a refusal
    # Device id -> policies read before and still fresh (sweep_targets(known_policies=True)).
    known: Mapping[str, KnownPolicies] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Outcome:
    customer_id: int
    region_id: int
    taken_at: datetime
    tally: Tally | None = None
    error_kind: str = ""
    error: str = ""
    duration_ms: int = 0
    requests: int = 0
    # Failing compliance policy names per noncompliant device id; a device absent: unknown.
    policies: dict[str, list[str]] = field(default_factory=dict)
    # When each of those was read from Intune (this sweep, or the earlier one reused).
    policies_read_at: dict[str, datetime] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.tally is not None


@dataclass(frozen=True)
class _Failure:
    kind: str
    message: str
    transient: bool
    token: bool = False  # the token request failed (not Graph): the next try asks anew


def devices_read(
    *,
    target: Target,
    stale_before: datetime,
    attempts: int,
) -> Outcome:
    """Tally one customer's managed devices, then read which policies its noncompliant ones
    fail; failures are returned in the Outcome, not raised (a failed policy read only leaves
    those devices' policies unknown)."""
    started = time.monotonic()
    outcome = Outcome(
        customer_id=target.customer_id, region_id=target.region.pk, taken_at=timezone.now()
    )
    for attempt in range(1, attempts + 1):
        try:
            outcome.tally = _read(target, stale_before, outcome)
            outcome.error_kind = outcome.error = ""
            break
        except Exception as exc:
            failure = _classify(exc, target)
            outcome.error_kind, outcome.error = failure.kind, failure.message
            if not failure.transient or attempt == attempts:
                break
            if failure.token:
                _forget_token(target)
            time.sleep(min(4.0, 0.5 * 2 ** (attempt - 1)))
    if outcome.tally is not None and outcome.tally.noncompliant:
        _policies_read(target, outcome)
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


def _policies_read(target: Target, outcome: Outcome) -> None:
    """Fill outcome.policies; whatever fails leaves devices unknown, never the outcome failed."""
    assert outcome.tally is not None
    # The id goes into a URL path: only Intune's GUIDs are asked for (the rest stay unknown).
    # A device that has not checked in since its states were read has the same states: they
    # are reused, and only the others cost a round trip.
    device_ids = []
    for device in outcome.tally.noncompliant:
        device_id = str(device.get("id") or "")
        if not _guid(device_id):
            continue
        known = target.known.get(device_id)
        if known is not None and known.last_sync_at == graph_time(device.get("lastSyncDateTime")):
            outcome.policies[device_id] = list(known.names)
            outcome.policies_read_at[device_id] = known.read_at
        else:
            device_ids.append(device_id)
    if not device_ids:
        return
    try:
        graph = graph_as_app(region=target.region, tenant_id=target.tenant_id)
        read = failing_policies_read(graph=graph, device_ids=device_ids)
    except Exception as exc:  # the token, or a bug: the device figures stand without policies
        log.warning("policy states of tenant %s not read: %s", target.tenant_id, exc)
        return
    outcome.policies.update(read.failing)
    outcome.policies_read_at.update(dict.fromkeys(read.failing, outcome.taken_at))
    outcome.requests += read.requests
    if read.error:
        log.info(
            "policy states of tenant %s: %s of %s devices unknown: %s",
            target.tenant_id,
            len(device_ids) - len(read.failing),
            len(device_ids),
            read.error,
        )


def _guid(value: str) -> bool:
    """Exactly a GUID's 36 characters (uuid.UUID also takes braces and "urn:uuid:")."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _forget_token(target: Target) -> None:
    """MSAL replays a failed token request for a while: make the next attempt reach Entra."""
    try:
        app_token_drop(region=target.region, tenant_id=target.tenant_id)
    except Exception as exc:  # discovery failing again: the next attempt reports it
        log.info("could not reset the token cache of tenant %s: %s", target.tenant_id, exc)


def _read(target: Target, stale_before: datetime, out: Outcome) -> Tally:
    # Paced by the client's gate: Intune's budget for the app in this tenant, shared with
    # every other worker and web process (regions.throttle).
    graph = graph_as_app(region=target.region, tenant_id=target.tenant_id)
    params = {"$select": SWEEP_FIELDS, "$top": settings.COMPLIANCE_PAGE_SIZE}
    tally = Tally()
    skiptoken: str | None = None
    while True:
        out.requests += 1
        page = graph.get_page(MANAGED_DEVICES, params=params, skiptoken=skiptoken)
        for device in page.items:
            tally.add(device, stale_before=stale_before)
        if not page.next_skiptoken:
            return tally
        skiptoken = page.next_skiptoken


# Per kind: (the snapshot's error_kind, the dashboard's sentence, try again in this sweep).
# Throttling is not retried here: the Graph client already waited out its Retry-After.
_GRAPH_FAILURES: dict[ErrorKind | None, _Failure] = {
    ErrorKind.FORBIDDEN: _Failure(
        "forbidden",
        "Microsoft Graph refused access to Intune data (HTTP 403): the admin relationship "
        "may have expired or no longer grants Intune roles. Check the customer's GDAP "
        "relationship in Partner Center.",
        transient=False,
    ),
    ErrorKind.THROTTLED: _Failure(
        "throttled",
        "Microsoft kept throttling requests for this customer{wait}. The next sweep will "
        "try again; if this repeats, sweep less often.",
        transient=False,
    ),
    ErrorKind.TIMEOUT: _Failure(
        "timeout",
        "Microsoft Graph did not answer in time. The next sweep will try again.",
        transient=True,
    ),
    ErrorKind.UNAVAILABLE: _Failure(
        "unavailable",
        "Microsoft Graph answered with a server error ({error}). The next sweep will try again.",
        transient=True,
    ),
    ErrorKind.UNAUTHORIZED: _Failure(
        "unauthorized",
        "Microsoft Graph did not accept the app's token (HTTP 401). The next sweep gets a "
        "new token; if this repeats, check the region's app registration.",
        transient=False,
    ),
    None: _Failure(
        "graph",
        "Microsoft Graph could not answer: {error}. The next sweep will try again.",
        transient=False,
    ),
}
_UNREACHABLE = _Failure(
    "network",
    "Could not reach Microsoft's sign-in service for this customer. The next sweep will try again.",
    transient=True,
)
_TOKEN_FAILURES: dict[ErrorKind | None, _Failure] = {
    ErrorKind.UNAVAILABLE: _UNREACHABLE,
    ErrorKind.TIMEOUT: _UNREACHABLE,
    # No service principal of the app in the customer tenant: waiting never fixes that.
    ErrorKind.NOT_CONSENTED: _Failure(
        "not_consented",
        "The portal's app is not known in this customer's tenant ({error}{code}): the admin "
        "relationship that preconsented it ended, or the app was never consented there. Check "
        "the relationship in Partner Center, or consent the app for this customer (Partner "
        "Center application consent); waiting does not help.",
        transient=False,
    ),
    None: _Failure(
        "token",
        "Microsoft would not issue an app token for this customer ({error}{code}): "
        "the admin relationship is not active or the app is not consented there. Check "
        "the relationship and the app's consent on the customer's “My access” page.",
        transient=False,
    ),
}
# The last sync read the relationship as expired: no token or Graph call can succeed until the
# customer approves a new one, and waiting never helps.
_EXPIRED = _Failure(
    "expired",
    "The admin relationship with this customer has expired ({error}{code}), so Microsoft gives "
    "the portal no access to it. Request a new GDAP relationship in Partner Center and ask the "
    "customer's admin to approve it; the next sweep after that reads it again.",
    transient=False,
)


# With an active relationship: app-only access depends only on the app's consent and roles.
_APP_STATE_FAILURES: dict[tuple[bool, ErrorKind], _Failure] = {
    (True, ErrorKind.NOT_CONSENTED): _Failure(
        "not_consented",
        "The portal's app is not consented in this customer's tenant ({error}{code}): it has "
        "no service principal there, so no app token is issued. Consent the app on the "
        "customer's “My access” page; waiting does not help.",
        transient=False,
    ),
    (False, ErrorKind.FORBIDDEN): _Failure(
        "forbidden",
        "Microsoft Graph refused the app's token for Intune data (HTTP 403): the app is "
        "consented but holds no Intune application permission (app role) in this tenant, or "
        "lost it. Consent the app again on the customer's “My access” page: it assigns the "
        "app roles.",
        transient=False,
    ),
}


def _classify(exc: Exception, target: Target) -> _Failure:
    """What went wrong, as one sentence for the dashboard, and whether to try again now."""
    if not isinstance(exc, MicrosoftError):
        log.exception("compliance read of tenant %s crashed", target.tenant_id)
        return _Failure(
            "unexpected",
            "An unexpected error stopped this customer's sweep; the worker log has the details.",
            transient=False,
        )
    token = isinstance(exc, IdentityError)
    table = _TOKEN_FAILURES if token else _GRAPH_FAILURES
    failure = table.get(exc.kind) or table[None]
    if (
        target.relationship_status == "expired"
        and not failure.transient
        and failure.kind != "throttled"
    ):
        failure = _EXPIRED
    elif target.relationship_status == "active":
        # The relationship is live, so a refusal is the app's own state in the tenant.
        failure = _APP_STATE_FAILURES.get((token, exc.kind), failure)
    code = f", AADSTS{exc.aadsts}" if token and exc.aadsts else ""
    message = failure.message.format(
        error=exc.error if token else exc,
        code=code,
        wait=f" (it asked to wait {exc.retry_after:.0f} s)" if exc.retry_after else "",
    )
    return _Failure(failure.kind, message, transient=failure.transient, token=token)


def _without_db_leak(**kwargs: object) -> Outcome:
    # Django opens one connection per thread on first ORM use; a pool thread must not keep one.
    try:
        return devices_read(**kwargs)  # type: ignore[arg-type]
    finally:
        connections.close_all()


def devices_read_many(
    *, targets: Iterable[Target], stale_before: datetime, concurrency: int
) -> Iterator[Outcome]:
    """Outcomes in completion order; at most `concurrency` customers are read at once."""
    attempts = settings.COMPLIANCE_CUSTOMER_ATTEMPTS
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="sweep") as pool:
        futures = {
            pool.submit(
                _without_db_leak,
                target=t,
                stale_before=stale_before,
                attempts=attempts,
            ): t
            for t in targets
        }
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception:  # devices_read returns its failures; this is a bug, not Microsoft
                target = futures[future]
                log.exception("compliance read of tenant %s crashed", target.tenant_id)
                yield Outcome(
                    customer_id=target.customer_id,
                    region_id=target.region.pk,
                    taken_at=timezone.now(),
                    error_kind="unexpected",
                    error="An unexpected error stopped this customer's sweep; the worker log "
                    "has the details.",
                )
