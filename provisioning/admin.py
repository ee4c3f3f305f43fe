from django.contrib import admin

from portal.adminsite import RegionScopedAdmin
from provisioning.models import CustomerCreation, Provisioning


@admin.register(Provisioning)
class ProvisioningAdmin(RegionScopedAdmin):
    region_lookup = "customer__region"
    list_display = ("customer", "kind", "status", "attempt", "max_attempts", "created_at")
    list_filter = ("status", "kind")
    list_select_related = ("customer",)
    readonly_fields = [f.name for f in Provisioning._meta.fields]


@admin.register(CustomerCreation)
class CustomerCreationAdmin(RegionScopedAdmin):
    region_lookup = "region"
    list_display = ("domain_prefix", "company_name", "region", "customer", "created_at")
    list_select_related = ("region", "customer")
    readonly_fields = [f.name for f in CustomerCreation._meta.fields]
