"""The weekly compliance report's sends: one row per channel and week (imported by models.py)."""

from __future__ import annotations

from django.db import models


class ReportDelivery(models.Model):
    """The weekly compliance report of `period` sent to one channel: created once per channel
    and week (the same week is never sent twice to a channel), retried with backoff until it
    is sent or has failed ALERT_DELIVERY_MAX_ATTEMPTS times. `document` is the report as it
    was built for the week, so every attempt sends the same figures."""

    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(
        "alerts.NotificationChannel", on_delete=models.CASCADE, related_name="report_deliveries"
    )
    period = models.CharField(max_length=10)  # ISO week, "2026-W49"
    status = models.CharField(max_length=16, default="pending")  # a DeliveryStatus
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)  # a sentence, never a body, URL or secret
    document = models.JSONField(default=dict)  # figures and names, never secrets
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "alerts"
        ordering = ["-period", "channel_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "period"], name="reportdelivery_once_per_channel_and_week"
            )
        ]
        indexes = [models.Index(fields=["region", "-period"])]

    def __str__(self) -> str:
        return f"report {self.period} to channel {self.channel_id} ({self.status})"
