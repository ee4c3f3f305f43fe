"""Django admin for a region's admin: their region's rows, read-only, nothing deleted.

Every ModelAdmin of the portal derives from RegionScopedAdmin and names, in `region_lookup`,
the path from its model to the region (`"region"`, `"customer__region"`; `region_slug_field` for
rows that keep the region's slug). A global admin (`user.crosses_regions`) sees every region.
Permissions to view come from the role (accounts/backends.py).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest


class RegionScopedAdmin(admin.ModelAdmin):
    region_lookup: str = ""  # ORM path to the row's Region, e.g. "customer__region"
    region_slug_field: str = ""  # or: a field holding the region's slug (audit events)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        rows = super().get_queryset(request)
        user = request.user
        if getattr(user, "crosses_regions", False):
            return rows
        region = getattr(user, "region", None)
        if region is None:
            return rows.none()
        if self.region_slug_field:
            return rows.filter(**{self.region_slug_field: region.slug})
        if self.region_lookup == "self":
            return rows.filter(pk=region.pk)
        return rows.filter(**{self.region_lookup: region})

    # History is written by the portal only: nobody adds, changes or deletes it here.
    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
