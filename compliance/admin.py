"""Read-only history for admins: sweeps and their snapshots are written by the sweep only."""

from django.contrib import admin

from compliance.models import ComplianceSnapshot, ComplianceSweep
from portal.adminsite import RegionScopedAdmin


@admin.register(ComplianceSweep)
class ComplianceSweepAdmin(RegionScopedAdmin):
    region_lookup = "region"
    list_display = (
        "pk",
        "region",
        "status",
        "requested_by",
        "started_at",
        "done",
        "failed",
        "requests",
    )
    list_filter = ("status",)
    list_select_related = ("region",)


@admin.register(ComplianceSnapshot)
class ComplianceSnapshotAdmin(RegionScopedAdmin):
    region_lookup = "customer__region"
    list_display = ("customer", "taken_at", "ok", "device_total", "compliant", "error_kind")
    list_filter = ("ok", "error_kind")
    list_select_related = ("customer",)
    raw_id_fields = ("customer", "sweep")
