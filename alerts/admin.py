"""Alerts in Django admin, read-only like every other history: alerts are opened and resolved
by the rules and acknowledged on /alerts/; channels and thresholds are edited under
/regions/<slug>/notifications/ (audited); deliveries are the worker's record. A channel's
encrypted target and secret never appear: only what the notifications page shows."""

from django.contrib import admin

from alerts.models import Alert, AlertSettings, Delivery, NotificationChannel
from portal.adminsite import RegionScopedAdmin


@admin.register(Alert)
class AlertAdmin(RegionScopedAdmin):
    region_lookup = "region"
    list_display = ("title", "kind", "region", "customer", "state", "opened_at", "resolved_at")
    list_filter = ("state", "kind")
    list_select_related = ("region", "customer")
    search_fields = ("title", "key")
    raw_id_fields = ("customer", "acknowledged_by")


@admin.register(NotificationChannel)
class NotificationChannelAdmin(RegionScopedAdmin):
    region_lookup = "region"
    # Spelled out rather than excluded: a field added later stays hidden until someone
    # decides it may be shown.
    fields = (
        "region",
        "kind",
        "name",
        "target_display",
        "active",
        "created_at",
        "last_delivery_at",
        "last_error",
    )
    readonly_fields = fields
    list_display = ("name", "kind", "region", "target_display", "active", "last_delivery_at")
    list_filter = ("kind", "active")
    list_select_related = ("region",)
    search_fields = ("name",)

    @admin.display(description="Sends to")
    def target_display(self, channel: NotificationChannel) -> str:
        return channel.target_display


@admin.register(Delivery)
class DeliveryAdmin(RegionScopedAdmin):
    region_lookup = "alert__region"
    fields = (
        "alert",
        "channel",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "due_at",
        "claimed_until",
        "sent_at",
    )
    readonly_fields = fields
    list_display = ("pk", "alert", "channel", "status", "attempts", "due_at", "sent_at")
    list_filter = ("status",)
    list_select_related = ("alert", "channel")


@admin.register(AlertSettings)
class AlertSettingsAdmin(RegionScopedAdmin):
    region_lookup = "region"
    list_display = ("region", "compliance_below", "compliance_drop", "updated_at", "updated_by")
    list_select_related = ("region", "updated_by")
