from django.urls import path

from regionadmin import views

urlpatterns = [
    path("home/admin/", views.admin_landing_view, name="admin_landing"),
    path("regions/", views.region_list_view, name="region_list"),
    path("regions/new/", views.region_create_view, name="region_create"),
    path("regions/<slug:slug>/", views.region_edit_view, name="region_edit"),
    path("regions/<slug:slug>/setup/", views.region_setup_view, name="region_setup"),
    path(
        "regions/<slug:slug>/setup/<slug:check>/",
        views.region_check_view,
        name="region_check",
    ),
    path(
        "regions/<slug:slug>/preconsent/",
        views.region_preconsent_view,
        name="region_preconsent",
    ),
]
