"""Customer tenants of a region, synced from Microsoft into the database."""

from django.db import models


class RelationshipStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    TERMINATED = "terminated", "Terminated"
    PENDING = "pending", "Pending"
    NONE = "none", "None"


class Customer(models.Model):
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="customers")
    tenant_id = models.UUIDField(unique=True)
    name = models.CharField(max_length=256)
    default_domain = models.CharField(max_length=253, blank=True)
    relationship_status = models.CharField(
        max_length=16, choices=RelationshipStatus.choices, default=RelationshipStatus.NONE
    )
    relationship_end_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["region", "name"]),
            models.Index(fields=["region", "default_domain"]),
        ]

    def __str__(self) -> str:
        return self.name


class SyncRun(models.Model):
    """One customer sync of a region: progress for the refresh button, history for admins."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="syncs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    step = models.CharField(max_length=100, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one unfinished sync per region: a second request joins the running one.
            models.UniqueConstraint(
                fields=["region"],
                condition=models.Q(status__in=["queued", "running"]),
                name="syncrun_one_unfinished_per_region",
            )
        ]

    def __str__(self) -> str:
        return f"sync {self.region_id} {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
