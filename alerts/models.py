"""Alerts: one row per condition that needs a person, from open to resolved."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AlertKind(models.TextChoices):
    COMPLIANCE_BELOW = "compliance_below", "Compliance below threshold"
    COMPLIANCE_DROP = "compliance_drop", "Compliance dropped"
    GDAP_ENDING = "gdap_ending", "GDAP relationship ending"
    CREDENTIAL_EXPIRING = "credential_expiring", "App credential expiring"
    CONSENT_LOST = "consent_lost", "App consent lost"
    SWEEP_FAILING = "sweep_failing", "Compliance sweep failing"


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    # None: about the region itself (its app credential).
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    # What the condition is about ("customer-12", "region-3/secret", "gdap-<id>"): with the
    # kind, the identity of a condition, so one condition has one unresolved alert.
    key = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN)
    title = models.CharField(max_length=300)
    detail = models.JSONField(default=dict, blank=True)  # numbers and dates, never secrets
    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["region", "state", "-opened_at"])]
        constraints = [
            # One condition opens one alert: evaluating twice (or two workers at once) cannot
            # store a second unresolved alert for it.
            models.UniqueConstraint(
                fields=["kind", "key"],
                condition=~models.Q(state="resolved"),
                name="alert_one_unresolved_per_condition",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.state})"
