from django.urls import path, register_converter

from customers.converters import TenantIdConverter
from provisioning import views

# The customers app registers the same converter as "tenant"; ours does not depend on the
# order the URLconfs are imported in.
register_converter(TenantIdConverter, "customer_tenant")

urlpatterns = [
    path("customers/new/", views.customer_create_view, name="customer_create"),
    path(
        "customers/<customer_tenant:tenant_id>/provisioning/",
        views.provisioning_page_view,
        name="customer_provisioning",
    ),
    path(
        "customers/<customer_tenant:tenant_id>/provisioning/reveal/",
        views.provisioning_reveal_view,
        name="provisioning_reveal",
    ),
    path(
        "customers/<customer_tenant:tenant_id>/provisioning/status/",
        views.provisioning_status_view,
        name="provisioning_status",
    ),
    path(
        "customers/<customer_tenant:tenant_id>/provisioning/start/",
        views.provisioning_start_view,
        name="provisioning_start",
    ),
]
