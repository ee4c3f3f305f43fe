"""Compliance sweeps and what they leave behind: one snapshot per customer per sweep."""

from __future__ import annotations

from django.db import models

from portal.runs import LeasedRun, unfinished_constraint

# Intune's complianceState values and the snapshot column that counts each of them.
STATE_FIELDS = {
    "compliant": "compliant",
    "noncompliant": "noncompliant",
    "inGracePeriod": "in_grace_period",
    "unknown": "unknown",
    "conflict": "conflict",
    "error": "error_devices",
    "configManager": "config_manager",
}


class ComplianceSweep(LeasedRun):
    """One background pass over every active customer; progress for managers, history."""

    # The lease (COMPLIANCE_SWEEP_LEASE_SECONDS) and the attempts limit: see portal/runs.py.
    run_noun = "sweep"
    lease_setting = "COMPLIANCE_SWEEP_LEASE_SECONDS"
    max_attempts_setting = "COMPLIANCE_SWEEP_MAX_ATTEMPTS"

    # The region swept; None: every active region (only a global admin or a test asks for
    # that). The scope is the lock key: one unfinished sweep per region, and one "all".
    region = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    scope = models.CharField(max_length=32, default="all")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # The sweep lock: at most one unfinished sweep per scope, enforced by the database
            # (a partial unique index), so two starts at the same instant cannot both win.
            unfinished_constraint(field="scope", name="compliancesweep_one_unfinished")
        ]

    def __str__(self) -> str:
        return f"compliance sweep {self.pk} {self.status}"

    @staticmethod
    def scope_for(region_id: int | None) -> str:
        """The lock key of a sweep over `region_id` (None: every region)."""
        return "all" if region_id is None else f"region-{region_id}"

    @property
    def progress(self) -> int:
        if self.finished:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class SweepChunk(LeasedRun):
    """A slice of a sweep's customers that one worker reads at a time: the sweep fans out
    over every worker (each chunk its own task and lease), and a killed worker's chunk is
    taken over on its own, the others going on. The sweep is done when all its chunks are."""

    run_noun = "sweep chunk"
    lease_setting = "COMPLIANCE_SWEEP_LEASE_SECONDS"
    max_attempts_setting = "COMPLIANCE_SWEEP_MAX_ATTEMPTS"

    sweep = models.ForeignKey(ComplianceSweep, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()  # from 0, in the sweep's order of customers
    customer_ids = models.JSONField(default=list)  # Customer pks, at most COMPLIANCE_SWEEP_CHUNK
    done = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)  # host/pid of the last claim

    class Meta:
        ordering = ["sweep", "number"]
        constraints = [
            models.UniqueConstraint(fields=["sweep", "number"], name="sweepchunk_unique")
        ]

    def __str__(self) -> str:
        return f"sweep {self.sweep_id} chunk {self.number} {self.status}"


class ComplianceSnapshot(models.Model):
    """One customer's device compliance as one sweep saw it (or why it could not)."""

    sweep = models.ForeignKey(ComplianceSweep, on_delete=models.CASCADE, related_name="snapshots")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="compliance_snapshots"
    )
    taken_at = models.DateTimeField()
    ok = models.BooleanField(default=True)
    error_kind = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    device_total = models.PositiveIntegerField(default=0)
    compliant = models.PositiveIntegerField(default=0)
    noncompliant = models.PositiveIntegerField(default=0)
    in_grace_period = models.PositiveIntegerField(default=0)
    unknown = models.PositiveIntegerField(default=0)
    conflict = models.PositiveIntegerField(default=0)
    error_devices = models.PositiveIntegerField(default=0)
    config_manager = models.PositiveIntegerField(default=0)
    stale = models.PositiveIntegerField(default=0)
    os_counts = models.JSONField(default=dict, blank=True)
    # compliant / device_total; NULL when the sweep failed or the tenant has no devices.
    compliance_rate = models.FloatField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)  # Graph pages read (tokens not counted)

    class Meta:
        ordering = ["-taken_at"]
        indexes = [
            models.Index(fields=["customer", "-taken_at"]),
            models.Index(fields=["taken_at"]),
        ]
        constraints = [
            # A sweep taken over after its worker died skips the customers already done; the
            # database makes sure a second snapshot for one of them can never be stored.
            models.UniqueConstraint(
                fields=["sweep", "customer"], name="compliancesnapshot_one_per_sweep"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} at {self.taken_at:%Y-%m-%d %H:%M}"


class CustomerCompliance(models.Model):
    """A customer's latest sweep result, with the figures of its latest successful one.

    One row per customer, updated by every sweep: the dashboard aggregates, sorts and filters
    these ~1 row per customer and never joins the snapshot history (90 days x every sweep).
    """

    customer = models.OneToOneField(
        "customers.Customer",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="compliance",
    )
    last_snapshot = models.ForeignKey(
        ComplianceSnapshot, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    last_good_snapshot = models.ForeignKey(
        ComplianceSnapshot, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    last_taken_at = models.DateTimeField(null=True)
    last_ok = models.BooleanField(default=False)
    last_error = models.TextField(blank=True)
    # Copies of the latest successful snapshot's figures (kept when later sweeps fail).
    good_taken_at = models.DateTimeField(null=True)
    device_total = models.PositiveIntegerField(default=0)
    compliant = models.PositiveIntegerField(default=0)
    noncompliant = models.PositiveIntegerField(default=0)
    in_grace_period = models.PositiveIntegerField(default=0)
    stale = models.PositiveIntegerField(default=0)
    compliance_rate = models.FloatField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The dashboard's worst offenders: lowest rate first, read in index order.
        indexes = [models.Index(fields=["compliance_rate"], name="customercompliance_rate")]

    def __str__(self) -> str:
        return f"compliance of {self.customer_id}"


class ComplianceTrendPoint(models.Model):
    """Totals of one sweep in one region: the rows behind the compliance-over-time chart."""

    sweep = models.ForeignKey(ComplianceSweep, on_delete=models.CASCADE, related_name="trend")
    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    taken_at = models.DateTimeField()
    customers = models.PositiveIntegerField(default=0)
    customers_failed = models.PositiveIntegerField(default=0)
    devices = models.PositiveIntegerField(default=0)
    compliant = models.PositiveIntegerField(default=0)
    noncompliant = models.PositiveIntegerField(default=0)
    in_grace_period = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["taken_at"]
        indexes = [models.Index(fields=["region", "taken_at"])]
        constraints = [
            models.UniqueConstraint(fields=["sweep", "region"], name="compliancetrend_unique")
        ]

    def __str__(self) -> str:
        return f"{self.region_id} at {self.taken_at:%Y-%m-%d %H:%M}"


class NoncompliantDevice(models.Model):
    """A device Intune called noncompliant at its customer's latest successful sweep, and since
    when (the first sweep that saw it so, kept while later sweeps still do): the rows of the
    cross-customer list. A sweep replaces its customer's rows; a failed sweep keeps them."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="noncompliant_devices"
    )
    device_id = models.CharField(max_length=64)
    device_name = models.CharField(max_length=256, blank=True)
    user_principal_name = models.CharField(max_length=256, blank=True)
    operating_system = models.CharField(max_length=64, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField()  # first seen noncompliant, by a sweep
    seen_at = models.DateTimeField()  # the latest sweep that saw it noncompliant
    # Whether the latest sweep read the device's policy states: False shows "unknown" (the
    # read was refused or failed); True with no failing_policies: Intune named none.
    policies_read = models.BooleanField(default=False)
    # When Intune's policy states of the device were last read: a sweep reuses them while the
    # device has not checked in since (last_sync_at unchanged), for at most
    # COMPLIANCE_POLICY_REFRESH_HOURS.
    policies_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["since", "device_name"]
        # The list's default order (longest noncompliant first) read in index order.
        indexes = [models.Index(fields=["since"], name="noncompliantdevice_since")]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "device_id"], name="noncompliantdevice_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.device_name or self.device_id} of {self.customer_id}"


class NoncompliantPolicy(models.Model):
    """A compliance policy a noncompliant device fails (state nonCompliant or error), as its
    latest sweep read the device's deviceCompliancePolicyStates; replaced by every sweep."""

    device = models.ForeignKey(
        NoncompliantDevice, on_delete=models.CASCADE, related_name="failing_policies"
    )
    name = models.CharField(max_length=256)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"])]
        constraints = [
            models.UniqueConstraint(fields=["device", "name"], name="noncompliantpolicy_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} failing on {self.device_id}"
