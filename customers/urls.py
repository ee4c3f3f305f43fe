from django.urls import path, register_converter

from customers import views
from customers.converters import TenantIdConverter

register_converter(TenantIdConverter, "tenant")

urlpatterns = [
    path("customers/", views.customer_list_view, name="customer_list"),
    path("customers/export.csv", views.customer_export_view, name="customer_export"),
    path("tables/<slug:table>/columns/", views.table_columns_view, name="table_columns"),
    path("customers/sync/", views.sync_start_view, name="customer_sync"),
    path("customers/sync/<int:run_id>/", views.sync_status_view, name="customer_sync_status"),
    path("customers/consent/", views.consent_all_view, name="customer_consent_all"),
    path("customers/consent/<int:run_id>/", views.consent_run_view, name="customer_consent_run"),
    path("customers/<tenant:tenant_id>/", views.overview_view, name="customer_overview"),
    path("customers/<tenant:tenant_id>/users/", views.users_view, name="customer_users"),
    path(
        "customers/<tenant:tenant_id>/users/export.csv",
        views.users_export_view,
        name="customer_users_export",
    ),
    path(
        "customers/<tenant:tenant_id>/users/bulk/",
        views.users_bulk_view,
        name="customer_users_bulk",
    ),
    path(
        "customers/<tenant:tenant_id>/users/<tenant:user_id>/",
        views.user_view,
        name="customer_user",
    ),
    path(
        "customers/<tenant:tenant_id>/users/<tenant:user_id>/actions/<slug:name>/",
        views.user_action_view,
        name="customer_user_action",
    ),
    path("customers/<tenant:tenant_id>/groups/", views.groups_view, name="customer_groups"),
    path(
        "customers/<tenant:tenant_id>/groups/<tenant:group_id>/",
        views.group_view,
        name="customer_group",
    ),
    path("customers/<tenant:tenant_id>/devices/", views.devices_view, name="customer_devices"),
    path("customers/<tenant:tenant_id>/access/", views.access_view, name="customer_access"),
    path(
        "customers/<tenant:tenant_id>/access/consent/",
        views.consent_view,
        name="customer_consent",
    ),
    path(
        "customers/<tenant:tenant_id>/managed-devices/",
        views.managed_devices_view,
        name="customer_managed_devices",
    ),
    path(
        "customers/<tenant:tenant_id>/managed-devices/bulk/",
        views.managed_devices_bulk_view,
        name="customer_managed_devices_bulk",
    ),
    path(
        "customers/<tenant:tenant_id>/bulk/<int:run_id>/",
        views.bulk_run_view,
        name="customer_bulk_run",
    ),
    path(
        "customers/<tenant:tenant_id>/managed-devices/<tenant:device_id>/",
        views.managed_device_view,
        name="customer_managed_device",
    ),
    path(
        "customers/<tenant:tenant_id>/managed-devices/<tenant:device_id>/actions/<slug:name>/",
        views.managed_device_action_view,
        name="customer_managed_device_action",
    ),
    path("customers/switch/", views.customer_switch_view, name="customer_switch"),
]
