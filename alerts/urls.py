from django.urls import path

from alerts import views

urlpatterns = [
    path("alerts/", views.alert_list_view, name="alert_list"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        views.alert_acknowledge_view,
        name="alert_acknowledge",
    ),
]
