from django.contrib import admin

from alerts.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "state", "region", "opened_at", "last_seen_at")
    list_filter = ("state", "kind", "region")
    readonly_fields = [f.name for f in Alert._meta.fields]
