"""Sign-in, the identity provider's callback, sign-out; the users page of admins."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import SignInForm
from accounts.models import Role
from accounts.permissions import role_required
from accounts.selectors import user_for_admin, user_list
from accounts.services import (
    SignInError,
    safe_next,
    signin_complete,
    signin_start,
    signout,
    signout_microsoft_url,
)
from accounts.sessions import user_sessions_end
from accounts.theme import theme_choose
from regions.selectors import region_list

# Longer callback parameters are not something Entra sends; refuse before doing any work.
_MAX_CALLBACK_PARAM = 8192


@require_http_methods(["GET", "POST"])
def signin_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and request.user.is_authenticated:
        return redirect("home")
    form = SignInForm(request.POST or None, initial={"next": request.GET.get("next", "")})
    if request.method == "POST" and form.is_valid():
        try:
            auth_uri = signin_start(
                request=request,
                username=form.cleaned_data["username"],
                next_url=form.cleaned_data["next"],
            )
        except SignInError as exc:
            form.add_error("username", str(exc))
        else:
            return HttpResponseRedirect(auth_uri)
    status = 400 if form.errors else 200
    return render(request, "accounts/signin.html", {"form": form}, status=status)


@require_http_methods(["GET"])
def callback_view(request: HttpRequest) -> HttpResponse:
    if any(len(v) > _MAX_CALLBACK_PARAM for v in request.GET.values()):
        return render(
            request,
            "accounts/signin_error.html",
            {"message": "The sign-in response was malformed. Please sign in again."},
            status=400,
        )
    try:
        user, next_url = signin_complete(request=request, params=request.GET.dict())
    except SignInError as exc:
        return render(request, "accounts/signin_error.html", {"message": str(exc)}, status=400)
    if user.role == Role.NONE:
        return redirect("no_access")
    return redirect(next_url)


@require_POST
def signout_view(request: HttpRequest) -> HttpResponse:
    region = request.user.region if request.user.is_authenticated else None
    signout(request=request)
    if region is None:
        return render(request, "accounts/signed_out.html")
    # Then Microsoft's session too, or "Continue" would sign straight back in.
    microsoft = signout_microsoft_url(
        region=region, return_to=request.build_absolute_uri(reverse("signed_out"))
    )
    if microsoft is None:
        return render(request, "accounts/signed_out.html", {"microsoft_remains": True})
    return HttpResponseRedirect(microsoft)


@require_http_methods(["GET"])
def signed_out_view(request: HttpRequest) -> HttpResponse:
    """Where Microsoft's sign-out sends the browser back to."""
    return render(request, "accounts/signed_out.html")


def no_access_view(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("signin")
    return render(request, "accounts/no_access.html", status=403)


@role_required(Role.ADMIN)
@require_http_methods(["GET"])
def user_list_view(request: HttpRequest) -> HttpResponse:
    admin = request.user
    region_slug = request.GET.get("region", "")[:50] if admin.crosses_regions else ""
    context = {
        "users": user_list(admin=admin, region_slug=region_slug),
        "regions": region_list() if admin.crosses_regions else [],
        "region_slug": region_slug,
        "nav": "users",
    }
    return render(request, "accounts/user_list.html", context)


@require_POST
@role_required(Role.ADMIN)
def user_sessions_end_view(request: HttpRequest, user_id: int) -> HttpResponse:
    target = user_for_admin(admin=request.user, user_id=user_id)
    if request.POST.get("confirm") != "yes":
        messages.error(
            request,
            f"Tick the confirmation first: ending {target}'s sessions signs them out of every "
            "browser.",
        )
        return redirect("user_list")
    ended = user_sessions_end(user=target, by=request.user, request=request)
    if target.pk == request.user.pk:
        return redirect("signin")
    messages.success(
        request,
        f"Ended {ended} session{'s' if ended != 1 else ''} of {target}: they must sign in again.",
    )
    return redirect("user_list")


@require_POST
@login_required
def theme_view(request: HttpRequest) -> HttpResponse:
    """The nav's light / dark / auto switch: store the choice, back to the page it was on."""
    try:
        theme_choose(request=request, theme=request.POST.get("theme", ""))
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    return redirect(safe_next(request, request.POST.get("next")))
