from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path

from portal import views


def _admin_signin(request, extra_context=None):
    # The portal has one way in: Microsoft sign-in. Django admin's password form is not it.
    return redirect(f"/signin/?next={request.GET.get('next', '/admin/')}")


admin.site.login = _admin_signin
admin.site.site_header = "CSP Portal administration"

urlpatterns = [
    path("", views.home_view, name="home"),
    path("healthz", views.healthz_view, name="healthz"),
    path("", include("accounts.urls")),
    path("", include("customers.urls")),
    path("admin/", admin.site.urls),
]
