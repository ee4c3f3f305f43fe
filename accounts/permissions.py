"""Role checks for views: one decorator, enforced server-side."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Role


def role_required(role: Role) -> Callable:
    """Anonymous → sign-in; signed in without a portal role → "no access"; too low → 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if user.role == Role.NONE:
                return render(request, "accounts/no_access.html", status=403)
            if not user.has_role(role):
                return render(request, "403.html", {"needed": Role(role).label}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
