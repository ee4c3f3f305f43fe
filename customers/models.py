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
