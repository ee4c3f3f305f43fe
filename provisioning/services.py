"""Writes: create a customer through Partner Center, and run its provisioning.

The wait and the retries follow Microsoft's advice for calls right after a customer is created
or accepts an invitation: wait three minutes for the partner relationship to reach the tenant,
and if it still fails, wait 60 s and try again with a NEW token (one issued earlier lacks the
preconsented permission claims for its whole lifetime).
# Reference: https://learn.microsoft.com/en-us/graph/auth-cloudsolutionprovider
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from customers.models import Customer, RelationshipStatus
from mscloud.errors import ErrorKind, MicrosoftError
from mscloud.identity import IdentityError
from portal.runs import LeaseLost, fenced_update, row_compare_and_set, run_start
from provisioning.access import access_assign
from provisioning.errors import attempt_failure, gave_up
from provisioning.first_calls import first_calls_run
from provisioning.models import CustomerCreation, Provisioning
from regions.clients import app_token_drop, partner_center_as_app
from regions.models import Region

log = logging.getLogger(__name__)

Status = Provisioning.Status


class CustomerCreateError(Exception):
    """Partner Center did not create the customer; `field` names the form field to blame.

    `retry_same` says whether the same submission may be resent (the outcome is unknown, and
    the request id keeps a resend from making a second tenant) or a new one is needed."""

    def __init__(self, message: str, *, field: str | None = None, retry_same: bool = False):
        super().__init__(message)
        self.message, self.field, self.retry_same = message, field, retry_same


@dataclass(frozen=True)
class InitialCredentials:
    """The new tenant's first admin account; shown once, never stored."""

    user_name: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class CreatedCustomer:
    customer: Customer
    credentials: InitialCredentials | None  # None when this submission was handled before
    recorded: bool = False  # this call recorded the new customer (the others joined it)


class CustomerCreateLimited(CustomerCreateError):
    """Over the creation quota: nothing was recorded or sent to Microsoft (HTTP 429)."""

    status = 429


def _counted(since: datetime) -> Any:
    # Submissions that made a tenant, or whose outcome is unknown or still under way; not
    # those Partner Center refused (a taken domain, a rejected field): they created nothing.
    return CustomerCreation.objects.filter(created_at__gt=since).filter(
        Q(customer__isnull=False) | Q(finished_at__isnull=True)
    )


def _over(rows: Any, limit: int, window: timedelta, now: datetime) -> tuple[int, str] | None:
    """(count, "HH:MM" when one more is allowed) when `rows` reached `limit`, else None."""
    times = sorted(rows.values_list("created_at", flat=True))
    if len(times) < limit:
        return None
    freed = times[len(times) - limit] + window  # when enough of them have left the window
    return len(times), timezone.localtime(max(freed, now)).strftime("%H:%M")


def _quota_check(*, user: User, region: Region) -> None:
    """Raise CustomerCreateLimited when the user (per hour) or the region (per day) reached
    its creation quota. Counted from the database, so it holds across processes; the caller
    holds the region's row lock, so parallel submissions are counted one after another."""
    now = timezone.now()
    hour, day = timedelta(hours=1), timedelta(days=1)
    per_user = settings.PROVISIONING_CREATE_PER_USER_PER_HOUR
    over = _over(_counted(now - hour).filter(requested_by=user), per_user, hour, now)
    if over:
        raise CustomerCreateLimited(
            f"You have created {over[0]} customers in the last hour; the limit is {per_user}. "
            f"Try again at {over[1]}."
        )
    per_region = settings.PROVISIONING_CREATE_PER_REGION_PER_DAY
    over = _over(_counted(now - day).filter(region=region), per_region, day, now)
    if over:
        raise CustomerCreateLimited(
            f"Your region has created {over[0]} customers in the last 24 hours; the limit is "
            f"{per_region}. Try again at {over[1]}."
        )


def _creation_for(
    *, key: uuid.UUID, region: Region, user: User, domain_prefix: str, company_name: str
) -> CustomerCreation:
    """The row for this submission, written (committed) before Partner Center is called.
    A new submission must fit the creation quota; a replay of one (same key) is not counted
    again."""
    existing = CustomerCreation.objects.filter(key=key).first()
    if existing is not None:
        return _replay(existing, region=region, user=user)
    try:
        with transaction.atomic():
            Region.objects.select_for_update().filter(pk=region.pk).first()
            # A parallel replay of this submission committed while we waited for the lock.
            existing = CustomerCreation.objects.filter(key=key).first()
            if existing is not None:
                return _replay(existing, region=region, user=user)
            _quota_check(user=user, region=region)
            return CustomerCreation.objects.create(
                key=key,
                region=region,
                requested_by=user,
                domain_prefix=domain_prefix,
                company_name=company_name,
            )
    except IntegrityError:
        return _replay(CustomerCreation.objects.get(key=key), region=region, user=user)


def _replay(existing: CustomerCreation, *, region: Region, user: User) -> CustomerCreation:
    if existing.region_id != region.pk or existing.requested_by_id != user.pk:
        raise CustomerCreateError(
            "This form was already submitted from another account. Reload the page and "
            "fill it in again."
        )
    return existing


def _domain_taken(exc: MicrosoftError) -> bool:
    text = (exc.message or "").lower()
    return exc.kind == ErrorKind.CONFLICT or (
        "domain" in text and any(w in text for w in ("exist", "taken", "in use", "available"))
    )


def _create_at_partner_center(
    partner_center: Any, payload: dict[str, Any], creation: CustomerCreation
) -> dict[str, Any]:
    try:
        return partner_center.create_customer(payload, request_id=str(creation.key))
    except MicrosoftError as exc:
        if _domain_taken(exc) or exc.kind == ErrorKind.BAD_REQUEST:
            # Refused outright: nothing was created, so it does not count against the quota.
            CustomerCreation.objects.filter(pk=creation.pk, customer__isnull=True).update(
                finished_at=timezone.now()
            )
        raise


def customer_create(
    *,
    user: User,
    key: uuid.UUID,
    company_name: str,
    domain_prefix: str,
    payload: dict[str, Any],
) -> CreatedCustomer:
    """Create a customer tenant in the user's region and start its provisioning.

    Idempotent per `key` (Partner Center's MS-RequestId): a double submit or a resend after a
    lost answer returns the same tenant."""
    region = user.region
    if region is None or not region.active:
        raise CustomerCreateError(
            "Your account belongs to no active region, so the portal cannot create customers "
            "for it. Ask an administrator to check the region configuration."
        )
    creation = _creation_for(
        key=key, region=region, user=user, domain_prefix=domain_prefix, company_name=company_name
    )
    if creation.customer_id is not None:
        return CreatedCustomer(customer=creation.customer, credentials=None)
    domain = f"{domain_prefix}.onmicrosoft.com"
    partner_center = partner_center_as_app(
        region=region,
        timeout=settings.PROVISIONING_CREATE_TIMEOUT,
        # One resend after a timeout or a 5xx (safe: same MS-RequestId); more would keep the
        # agent's request open for minutes.
        max_attempts=2,
    )
    try:
        answer = _create_at_partner_center(partner_center, payload, creation)
    except IdentityError as exc:
        raise CustomerCreateError(
            "The portal could not get a Partner Center token for your region "
            f"({exc.description or exc.error}). Ask an administrator to run the region's "
            "setup check.",
            retry_same=True,
        ) from exc
    except MicrosoftError as exc:
        if _domain_taken(exc):
            raise CustomerCreateError(
                f"{domain} is already taken. Choose another domain.", field="domain_prefix"
            ) from exc
        if exc.kind == ErrorKind.BAD_REQUEST:
            raise CustomerCreateError(
                f"Partner Center rejected the customer: {exc.message} Correct it and submit again."
            ) from exc
        raise CustomerCreateError(
            f"Partner Center could not be reached or failed ({exc.message}). Submit again: the "
            "same submission never creates a second customer.",
            retry_same=True,
        ) from exc
    tenant_id = str(answer.get("id") or (answer.get("companyProfile") or {}).get("tenantId"))
    tenant_id = str(uuid.UUID(tenant_id))
    domain = (answer.get("companyProfile") or {}).get("domain") or domain
    with transaction.atomic():
        creation = CustomerCreation.objects.select_for_update().get(pk=creation.pk)
        customer, _ = Customer.objects.get_or_create(
            tenant_id=tenant_id,
            defaults={
                "region": region,
                "name": company_name,
                "default_domain": domain,
                "relationship_status": RelationshipStatus.PENDING,
            },
        )
        recorded = creation.customer_id is None
        if recorded:
            creation.customer, creation.finished_at = customer, timezone.now()
            creation.save(update_fields=["customer", "finished_at"])
            provisioning_start(
                customer=customer, kind=Provisioning.Kind.CREATED, requested_by=str(user)
            )
    credentials = answer.get("userCredentials") or {}
    user_name = str(credentials.get("userName") or "")
    if user_name and "@" not in user_name:
        # Partner Center names the admin without the domain ("admin"); they sign in as a UPN.
        # Reference: https://learn.microsoft.com/partner-center/developer/create-a-customer
        user_name = f"{user_name}@{domain}"
    return CreatedCustomer(
        customer=customer,
        credentials=InitialCredentials(
            user_name=user_name,
            password=str(credentials.get("password") or ""),
        )
        if credentials.get("password")
        else None,
        recorded=recorded,
    )


def provisioning_start(
    *,
    customer: Customer,
    kind: str,
    requested_by: str = "",
    wait_seconds: int | None = None,
) -> tuple[Provisioning, bool]:
    """A new run for the customer, or the unfinished one already there; (run, created)."""
    wait = settings.PROVISIONING_WAIT_SECONDS if wait_seconds is None else wait_seconds
    with transaction.atomic():
        run, created = run_start(
            Provisioning,
            key={"customer": customer},
            kind=kind,
            requested_by=requested_by,
            wait_seconds=wait,
            retry_seconds=settings.PROVISIONING_RETRY_SECONDS,
            max_attempts=max(1, settings.PROVISIONING_MAX_ATTEMPTS),
            next_attempt_at=timezone.now() + timedelta(seconds=wait),
        )
        if created and customer.relationship_status != RelationshipStatus.ACTIVE:
            Customer.objects.filter(pk=customer.pk).update(
                relationship_status=RelationshipStatus.PENDING
            )
    return run, created


class ProvisioningRefused(Exception):
    """The provisioning cannot be started for this customer now; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProvisioningUnconfirmed(Exception):
    """An invitation start that the agent has not confirmed yet: nothing was changed."""


def provisioning_restart(
    *, customer: Customer, again: bool, requested_by: str = "", confirmed: bool = True
) -> tuple[Provisioning, bool]:
    """An agent's start: after an accepted invitation (only while one is pending for the
    customer: a relationship awaiting approval) or again after a failed provisioning (no
    initial wait: the relationship had its minutes already). Anything else changes nothing
    and raises ProvisioningRefused; a valid invitation start not `confirmed` yet raises
    ProvisioningUnconfirmed and changes nothing either."""
    with transaction.atomic():
        # One decision per customer at a time: two clicks never both pass the check.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        latest = customer.provisionings.first()
        if again:
            if latest is None or latest.status != Status.FAILED:
                raise ProvisioningRefused(
                    "Only a failed provisioning can be started again, and this customer's "
                    "has not failed. Reload the page to see where it is."
                )
            return provisioning_start(
                customer=customer,
                kind=Provisioning.Kind.INVITATION,
                requested_by=requested_by,
                wait_seconds=0,
            )
        if not customer.gdap_relationships.filter(status="approvalPending").exists():
            raise ProvisioningRefused(
                "This customer has no partner invitation awaiting approval, so there is no "
                "accepted invitation to check. Refresh the customers from Microsoft if they "
                "have just been invited."
            )
        if not confirmed:
            raise ProvisioningUnconfirmed()
        return provisioning_start(
            customer=customer, kind=Provisioning.Kind.INVITATION, requested_by=requested_by
        )


def provisioning_claim_due() -> tuple[int, int] | None:
    """Claim one run whose attempt is due; (id, attempt number) or None.

    Two workers (or a task delivered twice) never claim the same run: the row is locked with
    SKIP LOCKED, and the claim is a compare-and-set on (status, attempt) so it holds on
    SQLite too (the embedded `make run`), where FOR UPDATE does not exist. A run whose worker
    died mid-attempt is due again once its lease ran out."""
    for _ in range(10):  # each miss means another worker changed that row: look again
        now = timezone.now()
        with transaction.atomic():
            run = (
                Provisioning.objects.select_for_update(skip_locked=True)
                .filter(
                    Q(
                        status__in=[Status.WAITING, Status.RETRYING, Status.NEEDS_CONSENT],
                        next_attempt_at__lte=now,
                    )
                    | Q(status=Status.RUNNING, lease_until__lt=now)
                )
                .order_by("next_attempt_at", "pk")
                .first()
            )
            if run is None:
                return None
            claimed = _claim(run, now)
        if claimed is not None:
            return claimed
    return None


def _claim(run: Provisioning, now: Any) -> tuple[int, int] | None:
    expect = ("status", "attempt")
    last_error = run.last_error
    if run.status == Status.RUNNING:
        log.warning("provisioning %s: attempt %s was abandoned", run.pk, run.attempt)
        last_error = (
            f"Attempt {run.attempt} stopped before it finished (its worker was stopped or "
            "restarted)."
        )
        if run.attempt >= run.max_attempts:
            row_compare_and_set(
                run,
                expect=expect,
                status=Status.FAILED,
                last_error=gave_up(last_error, run.attempt),
                finished_at=now,
                next_attempt_at=None,
                lease_until=None,
            )
            return None
    attempt = run.attempt + 1
    taken = row_compare_and_set(
        run,
        expect=expect,
        status=Status.RUNNING,
        attempt=attempt,
        lease_until=now + timedelta(seconds=settings.PROVISIONING_LEASE_SECONDS),
        last_error=last_error,
    )
    return (run.pk, attempt) if taken else None


def _audit(run: Provisioning, action: str) -> None:
    audit_record(
        action=action,
        actor="provisioning",
        region=run.customer.region.slug,
        tenant_id=str(run.customer.tenant_id),
        detail={"kind": run.kind, "attempts": run.attempt, "error": run.last_error},
    )


def provisioning_attempt(*, provisioning_id: int, attempt: int) -> Provisioning | None:
    """Run a claimed attempt: a new app token, then the first calls; record the outcome.

    Returns the run, or None when the claim was lost (another worker took the run over after
    this one's lease ran out): its outcome is then not recorded."""
    run = Provisioning.objects.select_related("customer__region").filter(pk=provisioning_id).first()
    if run is None:  # the customer was deleted meanwhile
        return None
    customer = run.customer
    tenant_id = str(customer.tenant_id)
    results = dict(run.results or {})
    try:
        if run.kind == Provisioning.Kind.CREATED and results.get("access", {}).get("state") not in (
            "assigned",
            "not_configured",
        ):
            # Partner Center assigns no partner group: give the region's groups their roles.
            results["access"] = access_assign(region=customer.region, tenant_id=tenant_id)
            if not _record_results(run, attempt, results):
                return None
        # Every attempt starts from a new token, in whichever worker process it runs: a token
        # issued before the relationship propagated lacks the preconsented roles for its whole
        # lifetime, and MSAL replays an identical refusal (HTTP 400) for 60 s.
        app_token_drop(region=customer.region, tenant_id=tenant_id)
        calls = first_calls_run(region=customer.region, tenant_id=tenant_id)
    except MicrosoftError as exc:
        log.info("provisioning %s attempt %s failed: %s", run.pk, attempt, exc)
        if exc.kind == ErrorKind.NOT_CONSENTED and _consent_unknown(run, attempt):
            return _needs_consent(run, attempt, attempt_failure(exc))
        return _attempt_failed(run, attempt, attempt_failure(exc))
    except Exception as exc:
        log.exception("provisioning %s attempt %s crashed", run.pk, attempt)
        return _attempt_failed(run, attempt, attempt_failure(exc))
    changes: dict[str, Any] = {"relationship_status": RelationshipStatus.ACTIVE}
    if calls.default_domain:
        changes["default_domain"] = calls.default_domain
    with transaction.atomic():
        if not _record(
            run,
            attempt,
            status=Status.READY,
            finished_at=timezone.now(),
            last_error="",
            verified_domains=calls.verified_domains,
            results={**results, **calls.results},
            next_attempt_at=None,
            lease_until=None,
        ):
            return None
        Customer.objects.filter(pk=customer.pk).update(**changes)
        _audit(run, "customer.provisioning_ready")
    log.info("provisioning %s ready after %s attempt(s)", run.pk, attempt)
    return run


def _record(run: Provisioning, attempt: int, **changes: Any) -> bool:
    """Write an attempt's outcome if this attempt still holds the run (its number is the
    fencing token); False when another worker took the run over."""
    try:
        fenced_update(
            Provisioning.objects.filter(pk=run.pk, status=Status.RUNNING, attempt=attempt),
            **changes,
        )
    except LeaseLost:
        return False
    for name, value in changes.items():
        setattr(run, name, value)
    run.attempt = attempt
    return True


def _record_results(run: Provisioning, attempt: int, results: dict[str, Any]) -> bool:
    """Keep what a step found (e.g. the access assignments) while the attempt goes on."""
    try:
        fenced_update(
            Provisioning.objects.filter(pk=run.pk, status=Status.RUNNING, attempt=attempt),
            results=results,
        )
    except LeaseLost:
        return False
    run.results = results
    return True


def _consent_unknown(run: Provisioning, attempt: int) -> bool:
    """Whether "the app is not there" (700016, 7000229, 65001) means waiting for a consent
    rather than for propagation. Entra says the same in both cases. A customer created today
    has no consent until one is given: wait for it, unless one was given since (then the
    refusal is its propagation, retried like any authorization error). An invitation's tenant
    may well be consented: retry first, and wait for a consent once the retries are spent."""
    if run.kind == Provisioning.Kind.CREATED and not (run.results or {}).get("consent_seen"):
        return True
    return attempt >= run.max_attempts


def _needs_consent(run: Provisioning, attempt: int, reason: str) -> Provisioning | None:
    """The app is not consented in the tenant: waiting does not fix it, a consent does.

    Look again with a new token every PROVISIONING_CONSENT_POLL_SECONDS (an admin's "Consent
    the app" also makes the run due at once), each look with the full retry budget after it;
    fail once PROVISIONING_CONSENT_WAIT_SECONDS have passed since the first refusal."""
    now = timezone.now()
    results = dict(run.results or {})
    since = results.setdefault("consent_wait_since", now.isoformat())
    waited = (now - datetime.fromisoformat(since)).total_seconds()
    if waited >= settings.PROVISIONING_CONSENT_WAIT_SECONDS:
        changes: dict[str, Any] = {
            "status": Status.FAILED,
            "last_error": gave_up(reason, attempt),
            "finished_at": now,
            "next_attempt_at": None,
            "lease_until": None,
            "results": results,
        }
    else:
        changes = {
            "status": Status.NEEDS_CONSENT,
            "last_error": reason,
            "lease_until": None,
            "next_attempt_at": now + timedelta(seconds=settings.PROVISIONING_CONSENT_POLL_SECONDS),
            # A consent poll is not a spent retry: the budget starts again after each.
            "max_attempts": max(run.max_attempts, attempt + settings.PROVISIONING_MAX_ATTEMPTS),
            "results": results,
        }
    with transaction.atomic():
        if not _record(run, attempt, **changes):
            return None
        if changes["status"] == Status.FAILED:
            _audit(run, "customer.provisioning_failed")
    return run


def provisioning_consented(*, customer: Customer) -> int:
    """The app was just consented in the customer: the unfinished run knows it (the next
    "app not there" is the consent propagating), and one waiting for it is due now."""
    changed = 0
    with transaction.atomic():
        for run in Provisioning.objects.select_for_update().filter(
            customer=customer, status__in=Provisioning.UNFINISHED
        ):
            run.results = {**(run.results or {}), "consent_seen": True}
            fields = ["results"]
            if run.status == Status.NEEDS_CONSENT:
                run.next_attempt_at = timezone.now()
                fields.append("next_attempt_at")
            run.save(update_fields=fields)
            changed += 1
    return changed


def _attempt_failed(run: Provisioning, attempt: int, reason: str) -> Provisioning | None:
    now = timezone.now()
    last = attempt >= run.max_attempts
    if last:
        changes: dict[str, Any] = {
            "status": Status.FAILED,
            "last_error": gave_up(reason, attempt),
            "finished_at": now,
            "next_attempt_at": None,
            "lease_until": None,
        }
    else:
        changes = {
            "status": Status.RETRYING,
            "last_error": reason,
            "lease_until": None,
            "next_attempt_at": now + timedelta(seconds=run.retry_seconds),
        }
    with transaction.atomic():
        if not _record(run, attempt, **changes):
            return None
        if last:
            _audit(run, "customer.provisioning_failed")
    return run


def provisioning_run_due(*, limit: int = 20) -> int:
    """Claim and run due attempts one by one (other workers take the rest); how many ran."""
    ran = 0
    while ran < limit:
        claimed = provisioning_claim_due()
        if claimed is None:
            break
        provisioning_attempt(provisioning_id=claimed[0], attempt=claimed[1])
        ran += 1
    return ran
