"""Role checks for views: one decorator, enforced server-side."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Role
from accounts.redirects import login_redirect


def role_required(role: Role) -> Callable:
    """Anonymous → sign-in (htmx: HX-Redirect there); signed in without a portal role →
    "no access"; too low → 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return login_redirect(request)
            if user.role == Role.NONE:
                return render(request, "accounts/no_access.html", status=403)
            if not user.has_role(role):
                return render(request, "403.html", {"needed": Role(role).label}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
