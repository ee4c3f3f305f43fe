"""The search index: each customer's users and Intune devices as the region's app last read
them, so that a search across a thousand customers is one database query.

What it holds is what the directory and Intune pages show an agent (names, sign-in names,
mail, serial numbers), for customers where some partner security group of the region may
read it; nothing else (no phone numbers, no passwords, no tokens). Who may see which rows is
decided at query time (search.reach), from the agent's own groups."""

from __future__ import annotations

from django.db import models


class IndexStatus(models.TextChoices):
    OK = "ok", "Indexed"
    FAILED = "failed", "Failed"


class IndexedTenant(models.Model):
    """How far the index of one customer is: when it was read, what, and why not."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="search_index"
    )
    status = models.CharField(max_length=16, choices=IndexStatus.choices)
    users = models.BooleanField(default=False)  # users are in the index
    devices = models.BooleanField(default=False)  # Intune devices are in the index
    refreshed_at = models.DateTimeField(null=True, blank=True)  # the last successful read
    attempted_at = models.DateTimeField()
    error = models.TextField(blank=True)  # a sentence for the agent, never a body or token
    user_count = models.PositiveIntegerField(default=0)
    device_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"index of {self.customer_id} ({self.status})"


class IndexedUser(models.Model):
    # The customer's region, kept on the row: a search filters on it first (never another
    # region's rows), then leaves out the few customers the agent does not reach.
    # No index of its own: the trigram index finds the rows, the region is checked on them
    # (an index on a column with one value per region would tempt the planner to scan it).
    region = models.ForeignKey(
        "regions.Region", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    object_id = models.CharField(max_length=64)
    display_name = models.CharField(max_length=256, blank=True)
    user_principal_name = models.CharField(max_length=256, blank=True)
    mail = models.CharField(max_length=256, blank=True)
    account_enabled = models.BooleanField(null=True)
    # Lower-cased "display name | UPN | mail": on PostgreSQL one trigram index (migration
    # 0002) answers any substring of any of them.
    text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "object_id"], name="indexeduser_unique")
        ]

    def __str__(self) -> str:
        return self.user_principal_name or self.object_id


class IndexedDevice(models.Model):
    # The customer's region, kept on the row: a search filters on it first (never another
    # region's rows), then leaves out the few customers the agent does not reach.
    # No index of its own: the trigram index finds the rows, the region is checked on them
    # (an index on a column with one value per region would tempt the planner to scan it).
    region = models.ForeignKey(
        "regions.Region", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    object_id = models.CharField(max_length=64)  # Intune's managed device id
    device_name = models.CharField(max_length=256, blank=True)
    serial_number = models.CharField(max_length=128, blank=True)
    operating_system = models.CharField(max_length=64, blank=True)
    compliance_state = models.CharField(max_length=32, blank=True)
    user_principal_name = models.CharField(max_length=256, blank=True)
    text = models.TextField()  # lower-cased "device name | serial number"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "object_id"], name="indexeddevice_unique")
        ]

    def __str__(self) -> str:
        return self.device_name or self.object_id
