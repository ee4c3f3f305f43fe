"""Customer tenants of a region, synced from Microsoft into the database."""

from django.conf import settings
from django.db import models

from portal.runs import LeasedRun, unfinished_constraint


class RelationshipStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    TERMINATED = "terminated", "Terminated"
    PENDING = "pending", "Pending"
    NONE = "none", "None"


class RelationshipType(models.TextChoices):
    """How the partner reaches the customer (DESIGN.md "GDAP and consent")."""

    GDAP = "gdap", "GDAP"
    MLT = "mlt", "GDAP (Microsoft-led transition)"
    DAP = "dap", "DAP only"
    GDAP_DAP = "gdap+dap", "GDAP and DAP"
    NONE = "none", "None"


class ConsentState(models.TextChoices):
    """Whether the region's app works app-only in the customer (client credentials), as last
    checked: by the customer sync (an app token per customer) or by "Consent the app"."""

    CONSENTED = "consented", "Consented"
    NO_APP_ROLES = "no_app_roles", "Consented, app roles missing"
    NOT_CONSENTED = "not_consented", "Not consented"
    UNKNOWN = "unknown", "Not checked yet"


# The consent fields of a Customer: audited before/after by customers/consent.py.
CONSENT_FIELDS = (
    "consent_state",
    "consent_checked_at",
    "consent_scopes",
    "consent_app_roles",
    "consent_lost_at",
)


class Customer(models.Model):
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="customers")
    tenant_id = models.UUIDField(unique=True)
    name = models.CharField(max_length=256)
    default_domain = models.CharField(max_length=253, blank=True)
    relationship_status = models.CharField(
        max_length=16, choices=RelationshipStatus.choices, default=RelationshipStatus.NONE
    )
    relationship_end_at = models.DateTimeField(null=True, blank=True)
    relationship_type = models.CharField(
        max_length=16, choices=RelationshipType.choices, default=RelationshipType.NONE
    )
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The app in the customer's tenant (DESIGN.md "GDAP and consent").
    consent_state = models.CharField(
        max_length=16, choices=ConsentState.choices, default=ConsentState.UNKNOWN
    )
    consent_checked_at = models.DateTimeField(null=True, blank=True)
    consent_scopes = models.JSONField(default=list, blank=True)  # delegated, as consented
    consent_app_roles = models.JSONField(default=list, blank=True)  # in the app's token
    # When a check first found a consented customer no longer consented (drift); cleared
    # when it works again.
    consent_lost_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["region", "name"]),
            models.Index(fields=["region", "default_domain"]),
            # The customers list sorts by these, then by its tiebreak (name, tenant id): an
            # index in that exact order reads a page without sorting the region's customers.
            models.Index(fields=["region", "name", "tenant_id"], name="customer_by_name"),
            models.Index(
                fields=["region", "consent_state", "name", "tenant_id"], name="customer_by_consent"
            ),
            models.Index(
                fields=["region", "relationship_status", "name", "tenant_id"],
                name="customer_by_relationship",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GdapRelationship(models.Model):
    """One GDAP relationship of a customer as the last sync read it, with its access
    assignments: which partner security groups hold which of its roles."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="gdap_relationships"
    )
    relationship_id = models.CharField(max_length=80)
    display_name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=32)  # Graph's value: active, expired, …
    roles = models.JSONField(default=list, blank=True)  # Entra role template ids
    end_at = models.DateTimeField(null=True, blank=True)
    auto_extend = models.CharField(max_length=16, blank=True)  # ISO 8601, "PT0S" = never
    # [{"group_id": "<partner security group>", "roles": [template ids], "status": "active"}]
    access_assignments = models.JSONField(default=list, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["customer", "-end_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "relationship_id"], name="gdaprelationship_unique"
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.relationship_id

    @property
    def invitation_url(self) -> str:
        """The link the customer's admin opens to approve a relationship awaiting approval
        (Microsoft's documented URI template; the global admin center), else ""."""
        if self.status != "approvalPending":
            return ""
        # Reference: https://learn.microsoft.com/graph/api/resources/delegatedadminrelationships-api-overview
        return (
            "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/"
            f"granularAdminRelationships/{self.relationship_id}"
        )

    @property
    def auto_extends(self) -> bool:
        return bool(self.auto_extend) and self.auto_extend != "PT0S"


class SyncRun(LeasedRun):
    """One customer sync of a region: progress for the refresh button, history for admins."""

    run_noun = "customer sync"
    lease_setting = "CUSTOMER_SYNC_LEASE_SECONDS"
    max_attempts_setting = "CUSTOMER_SYNC_MAX_ATTEMPTS"

    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="syncs")
    step = models.CharField(max_length=100, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one unfinished sync per region: a second request joins the running one.
            unfinished_constraint(field="region", name="syncrun_one_unfinished_per_region")
        ]

    def __str__(self) -> str:
        return f"sync {self.region_id} {self.status}"


class ConsentRun(LeasedRun):
    """ "Consent every customer that lacks it" for one region, as the admin who asked: their
    tokens are lent to the run through a delegated grant (regions.delegation), ended at the end."""

    run_noun = "consent job"
    lease_setting = "CONSENT_RUN_LEASE_SECONDS"
    max_attempts_setting = "CONSENT_RUN_MAX_ATTEMPTS"

    region = models.ForeignKey(
        "regions.Region", on_delete=models.CASCADE, related_name="consent_runs"
    )
    grant_id = models.UUIDField(null=True, blank=True)
    step = models.CharField(max_length=100, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            unfinished_constraint(field="region", name="consentrun_one_unfinished_per_region")
        ]

    def __str__(self) -> str:
        return f"consent job {self.region_id} {self.status}"


class ConsentResult(models.Model):
    """One customer of a consent job: pending until done, then its outcome in a sentence."""

    run = models.ForeignKey(ConsentRun, on_delete=models.CASCADE, related_name="results")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, blank=True)  # customers.consent.ConsentKind; "" pending
    ok = models.BooleanField(default=False)
    message = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["customer__name"]
        constraints = [
            models.UniqueConstraint(fields=["run", "customer"], name="consentresult_unique")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.kind or 'pending'}"


class ActionOutcomeKind(models.TextChoices):
    """How an agent action on one user or device ended (customers/action_calls.py)."""

    PENDING = "pending", "Pending"
    SENDING = "sending", "Sent to Microsoft"  # the write left; its answer is not recorded yet
    DONE = "done", "Done"
    ALREADY = "already", "Already so"  # nothing to change: the object was already in that state
    REFUSED = "refused", "Refused"  # by the portal (roles, confirmation) or Microsoft (403, 400)
    NOT_FOUND = "not_found", "No longer exists"
    THROTTLED = "throttled", "Throttled"
    FAILED = "failed", "Failed"


class ActionRecord(models.Model):
    """One click of an action: its idempotency key (from the form), so a double submit or a
    resent form runs nothing twice and shows the first result instead."""

    key = models.UUIDField(unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="action_records"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    outcome = models.CharField(
        max_length=16, choices=ActionOutcomeKind.choices, default=ActionOutcomeKind.PENDING
    )
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.object_id}: {self.outcome}"


class BulkRun(LeasedRun):
    """One bulk action on a customer's users or Intune devices, as the agent who started it
    (their tokens lent through a delegated grant); its items carry the per-object results."""

    run_noun = "bulk action"
    lease_setting = "BULK_RUN_LEASE_SECONDS"
    max_attempts_setting = "BULK_RUN_MAX_ATTEMPTS"

    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="bulk_runs")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=8)  # customers.actions.Target
    grant_id = models.UUIDField(null=True, blank=True)
    # The confirmation form's idempotency key: a resent form shows this job, starts none.
    form_key = models.UUIDField(null=True, blank=True, unique=True)
    step = models.CharField(max_length=100, blank=True)
    total = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)  # done or already so
    failed = models.PositiveIntegerField(default=0)  # refused, gone, throttled, failed

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One bulk action at a time per customer: its writes are paced under Graph's
            # per-tenant limits, which two jobs at once would break between them.
            unfinished_constraint(field="customer", name="bulkrun_one_unfinished_per_customer")
        ]

    def __str__(self) -> str:
        return f"bulk {self.action} {self.customer_id} {self.status}"

    @property
    def finished_items(self) -> int:
        return self.succeeded + self.failed

    @property
    def progress(self) -> int:
        return 100 if self.finished else 100 * self.finished_items // max(self.total, 1)


class BulkItem(models.Model):
    """One user or device of a bulk action: pending, sent, then its outcome in a sentence."""

    run = models.ForeignKey(BulkRun, on_delete=models.CASCADE, related_name="items")
    object_id = models.CharField(max_length=64)
    name = models.CharField(max_length=256, blank=True)  # as Graph named it when read
    outcome = models.CharField(
        max_length=16, choices=ActionOutcomeKind.choices, default=ActionOutcomeKind.PENDING
    )
    message = models.TextField(blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["run", "object_id"], name="bulkitem_unique")]

    def __str__(self) -> str:
        return f"{self.object_id}: {self.outcome}"
