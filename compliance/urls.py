from django.urls import path, register_converter
from django.urls.converters import get_converters

from compliance import views
from customers.converters import TenantIdConverter

if "tenant" not in get_converters():  # customers.urls usually registered it already
    register_converter(TenantIdConverter, "tenant")

urlpatterns = [
    path(
        "customers/<tenant:tenant_id>/compliance/",
        views.customer_compliance_view,
        name="customer_compliance",
    ),
    path("compliance/", views.dashboard_view, name="compliance_dashboard"),
    path("compliance/export.csv", views.export_view, name="compliance_export"),
    path("compliance/noncompliant/", views.noncompliant_view, name="compliance_noncompliant"),
    path(
        "compliance/noncompliant.csv",
        views.noncompliant_export_view,
        name="compliance_noncompliant_export",
    ),
    path("compliance/report/", views.report_view, name="compliance_report"),
    path("compliance/report.csv", views.report_export_view, name="compliance_report_export"),
    path("compliance/sweeps/", views.sweep_start_view, name="compliance_sweep"),
    path(
        "compliance/sweeps/<int:sweep_id>/",
        views.sweep_status_view,
        name="compliance_sweep_status",
    ),
]
