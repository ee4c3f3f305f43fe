from django.contrib import admin

from provisioning.models import CustomerCreation, Provisioning


@admin.register(Provisioning)
class ProvisioningAdmin(admin.ModelAdmin):
    list_display = ("customer", "kind", "status", "attempt", "max_attempts", "created_at")
    list_filter = ("status", "kind")
    readonly_fields = [f.name for f in Provisioning._meta.fields]


@admin.register(CustomerCreation)
class CustomerCreationAdmin(admin.ModelAdmin):
    list_display = ("domain_prefix", "company_name", "region", "customer", "created_at")
    readonly_fields = [f.name for f in CustomerCreation._meta.fields]
