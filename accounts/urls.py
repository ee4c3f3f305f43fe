from django.urls import path

from accounts import views

urlpatterns = [
    path("signin/", views.signin_view, name="signin"),
    path("auth/callback/", views.callback_view, name="auth_callback"),
    path("signout/", views.signout_view, name="signout"),
    path("signed-out/", views.signed_out_view, name="signed_out"),
    path("no-access/", views.no_access_view, name="no_access"),
    path("preferences/theme/", views.theme_view, name="theme_set"),
    path("users/", views.user_list_view, name="user_list"),
    path(
        "users/<int:user_id>/end-sessions/",
        views.user_sessions_end_view,
        name="user_sessions_end",
    ),
]
