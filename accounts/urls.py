from django.urls import path

from accounts import views

urlpatterns = [
    path("signin/", views.signin_view, name="signin"),
    path("auth/callback/", views.callback_view, name="auth_callback"),
    path("signout/", views.signout_view, name="signout"),
    path("no-access/", views.no_access_view, name="no_access"),
]
