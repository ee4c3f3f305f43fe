from django.urls import path

from alerts import report_views, views

urlpatterns = [
    path("alerts/", views.alert_list_view, name="alert_list"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        views.alert_acknowledge_view,
        name="alert_acknowledge",
    ),
    path("regions/<slug:slug>/notifications/", views.channel_list_view, name="alert_channels"),
    path(
        "regions/<slug:slug>/notifications/reports/",
        report_views.report_deliveries_view,
        name="alert_report_deliveries",
    ),
    path(
        "regions/<slug:slug>/notifications/<int:channel_id>/delete/",
        views.channel_delete_view,
        name="alert_channel_delete",
    ),
    path(
        "regions/<slug:slug>/notifications/<int:channel_id>/test/",
        views.channel_test_view,
        name="alert_channel_test",
    ),
    path(
        "regions/<slug:slug>/notifications/<int:channel_id>/edit/",
        views.channel_edit_view,
        name="alert_channel_edit",
    ),
    path(
        "regions/<slug:slug>/notifications/<int:channel_id>/active/",
        views.channel_active_view,
        name="alert_channel_active",
    ),
    path("regions/<slug:slug>/alert-settings/", views.alert_settings_view, name="alert_settings"),
]
