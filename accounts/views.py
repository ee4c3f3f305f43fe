"""Sign-in, the identity provider's callback, sign-out."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import SignInForm
from accounts.models import Role
from accounts.services import SignInError, signin_complete, signin_start, signout

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
    signout(request=request)
    return render(request, "accounts/signed_out.html")


def no_access_view(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("signin")
    return render(request, "accounts/no_access.html", status=403)
