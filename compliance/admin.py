"""Read-only history for admins: sweeps and their snapshots are written by the sweep only."""

from django.contrib import admin

from compliance.models import ComplianceSnapshot, ComplianceSweep


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ComplianceSweep)
class ComplianceSweepAdmin(_ReadOnly):
    list_display = ("pk", "status", "requested_by", "started_at", "done", "failed", "requests")
    list_filter = ("status",)


@admin.register(ComplianceSnapshot)
class ComplianceSnapshotAdmin(_ReadOnly):
    list_display = ("customer", "taken_at", "ok", "device_total", "compliant", "error_kind")
    list_filter = ("ok", "error_kind")
    list_select_related = ("customer",)
    raw_id_fields = ("customer", "sweep")
