"""Alerts: one row per condition that needs a person, from open to resolved."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from portal import crypto


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


class ChannelKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK_JSON = "webhook_json", "Signed JSON webhook (PSA, ticketing)"
    TEAMS = "teams", "Microsoft Teams incoming webhook"
    SLACK = "slack", "Slack incoming webhook"


class NotificationChannel(models.Model):
    """Where a region's newly opened alerts are sent."""

    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    name = models.CharField(max_length=100)
    # E-mail addresses (comma-separated) or a webhook URL, encrypted: a Teams or Slack webhook
    # URL is itself the credential that lets anyone post to the channel.
    target_encrypted = models.TextField(editable=False)
    # webhook_json only: the HMAC key the receiver verifies X-Portal-Signature with.
    secret_encrypted = models.TextField(blank=True, editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)  # a sentence, never a body, URL or secret

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def target(self) -> str:
        return crypto.decrypt(self.target_encrypted) if self.target_encrypted else ""

    def set_target(self, target: str) -> None:
        self.target_encrypted = crypto.encrypt(target)

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted) if self.secret_encrypted else ""

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret)

    @property
    def is_webhook(self) -> bool:
        return self.kind != ChannelKind.EMAIL

    @property
    def target_display(self) -> str:
        """What the page and the logs may show: the addresses, or a webhook's scheme and host."""
        if not self.is_webhook:
            return self.target
        parts = urlsplit(self.target)
        return f"{parts.scheme}://{parts.hostname}/…"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One alert sent to one channel: at most once, retried with backoff until it is sent or
    has failed ALERT_DELIVERY_MAX_ATTEMPTS times."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the next attempt is due (now, or after a failure's backoff; the watch moves it to
    # when it queued the delivery again). A pending delivery long past it lost its message.
    due_at = models.DateTimeField(default=timezone.now)
    # Set by the worker that claimed the attempt, until it may be presumed dead: while it is
    # in the future no other worker sends this delivery.
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel"], name="delivery_once_per_channel")
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="delivery_status_due")]

    def __str__(self) -> str:
        return f"alert {self.alert_id} to channel {self.channel_id} ({self.status})"


class AlertSettings(models.Model):
    """A region's own thresholds for the compliance rules; a region without a row uses
    ALERT_COMPLIANCE_BELOW and ALERT_COMPLIANCE_DROP."""

    region = models.OneToOneField("regions.Region", on_delete=models.CASCADE, related_name="+")
    # Percent of devices compliant under which a customer's compliance opens an alert.
    compliance_below = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    # Points the rate may fall between two sweeps before an alert opens.
    compliance_drop = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name_plural = "alert settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(compliance_below__gte=0, compliance_below__lte=100),
                name="alert_settings_below_is_a_percentage",
            ),
            models.CheckConstraint(
                condition=models.Q(compliance_drop__gte=1, compliance_drop__lte=100),
                name="alert_settings_drop_is_1_to_100_points",
            ),
        ]

    def __str__(self) -> str:
        return f"alert settings of region {self.region_id}"


# The weekly report's sends live in their own module; imported here so Django registers them.
from alerts.report_models import ReportDelivery  # noqa: E402, F401
