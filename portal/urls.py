from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path

from portal import views


def _admin_signin(request: HttpRequest, extra_context: object = None) -> HttpResponse:
    # The portal has one way in: Microsoft sign-in. Django admin's password form is not it.
    # A signed-in user without admin rights would loop between the two: 403 instead.
    if request.user.is_authenticated:
        if request.user.role == "none":
            return render(request, "accounts/no_access.html", status=403)
        raise PermissionDenied
    return redirect_to_login(request.GET.get("next", "/admin/"))


admin.site.login = _admin_signin
admin.site.site_header = "CSP Portal administration"

urlpatterns = [
    path("", views.home_view, name="home"),
    path("healthz", views.healthz_view, name="healthz"),
    path("", include("accounts.urls")),
    path("", include("customers.urls")),
    path("", include("provisioning.urls")),
    path("", include("compliance.urls")),
    path("", include("regionadmin.urls")),
    path("", include("alerts.urls")),
    path("", include("search.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "portal.views.page_not_found"
handler403 = "portal.views.permission_denied"
handler500 = "portal.views.server_error"
