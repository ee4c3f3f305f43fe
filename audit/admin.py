from django.contrib import admin

from audit.models import AuditEvent
from portal.adminsite import RegionScopedAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(RegionScopedAdmin):
    region_slug_field = "region"
    list_display = ("at", "actor", "action", "region", "tenant_id", "ip")
    list_filter = ("action", "region")
    search_fields = ("actor", "tenant_id", "action")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
