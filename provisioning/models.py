"""New customers and the delayed calls after the partner relationship reaches them.

A `CustomerCreation` is one submitted "new customer" form: its key is Partner Center's
MS-RequestId, stored before the call so a double submit or a resend never makes two tenants.
A `Provisioning` is one run of the wait → first calls → retry state machine for a customer;
the database schedules it (`next_attempt_at`), a beat task claims the rows that are due.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portal.runs import unfinished_constraint


class CustomerCreation(models.Model):
    """One "new customer" submission; `key` is sent to Partner Center as MS-RequestId."""

    key = models.UUIDField(unique=True)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    domain_prefix = models.CharField(max_length=27)
    company_name = models.CharField(max_length=256)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.domain_prefix}.onmicrosoft.com ({self.key})"


class Provisioning(models.Model):
    """Waiting for the partner relationship to reach a customer tenant, then the first calls."""

    class Kind(models.TextChoices):
        CREATED = "created", "New customer"
        INVITATION = "invitation", "Accepted invitation"

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for the partner relationship"
        RUNNING = "running", "First calls"
        RETRYING = "retrying", "Retrying with a new token"
        # The app has no service principal in the tenant: waiting for a consent (an admin's
        # "Consent the app"), checked again with a new token every few minutes.
        NEEDS_CONSENT = "needs_consent", "Waiting for the app's consent"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    UNFINISHED = (Status.WAITING, Status.RUNNING, Status.RETRYING, Status.NEEDS_CONSENT)

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="provisionings"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    requested_by = models.CharField(max_length=256, blank=True)
    # Copied from settings when the run starts: a worker (another process) reads them from
    # here, and changing the settings never reshapes a run already under way.
    wait_seconds = models.PositiveIntegerField()
    retry_seconds = models.PositiveIntegerField()
    max_attempts = models.PositiveSmallIntegerField()
    attempt = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # While an attempt runs: after this instant a killed worker's attempt is taken over. An
    # attempt is a few Graph calls, each with a timeout, so a deadline serves as the lease (no
    # heartbeat), and the attempt number is the fencing token (portal/runs.py fenced_update).
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    verified_domains = models.JSONField(default=list, blank=True)
    results = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            # One run at a time per customer: a second request joins the unfinished one.
            unfinished_constraint(
                field="customer",
                name="provisioning_one_unfinished_per_customer",
                statuses=["waiting", "running", "retrying", "needs_consent"],
            )
        ]

    def __str__(self) -> str:
        return f"provisioning {self.customer_id} {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.READY, self.Status.FAILED)


class HeldCredentials(models.Model):
    """A new tenant's initial admin credentials, Fernet-encrypted, until the agent who created
    the tenant has seen them once (then the row is deleted). Not in the session: a concurrent
    request saving the session later would silently drop them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    tenant_id = models.UUIDField()
    sealed = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant_id"], name="heldcredentials_once")
        ]

    def __str__(self) -> str:
        return f"credentials for {self.tenant_id}"
