"""Regions in Django admin: read-only. Admins edit them under /regions/, where the form
validates against Microsoft's rules, secrets stay write-only and every change is audited."""

from django.contrib import admin
from django.http import HttpRequest

from portal.adminsite import RegionScopedAdmin
from regions.models import Region, RegionDomain


class RegionDomainInline(admin.TabularInline):
    model = RegionDomain
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Region)
class RegionAdmin(RegionScopedAdmin):
    region_lookup = "self"
    inlines = [RegionDomainInline]
    list_display = (
        "name",
        "slug",
        "partner_tenant_id",
        "cloud",
        "credential_type",
        "active",
        "client_secret_expires_at",
        "certificate_expires_at",
    )
    list_filter = ("active", "cloud", "credential_type")
    search_fields = ("name", "slug", "domains__domain")
    exclude = ("certificate_pem",)
