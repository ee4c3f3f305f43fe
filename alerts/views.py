"""Alert pages: parse input, call one selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from accounts.permissions import role_required
from alerts import selectors
from alerts.forms import ChannelForm
from alerts.models import AlertKind, AlertState, NotificationChannel
from alerts.notifications import channel_create, channel_delete, channel_test
from alerts.services import alert_acknowledge
from portal import crypto
from regionadmin.guard import region_for_admin
from regions.models import Region

PAGE_SIZE = 25


@role_required(Role.AGENT)
def alert_list_view(request: HttpRequest) -> HttpResponse:
    filters = {
        "region": request.GET.get("region", ""),
        "state": request.GET.get("state", ""),
        "kind": request.GET.get("kind", ""),
    }
    alerts = selectors.alert_list(user=request.user, **filters)
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "alerts/list.html",
        {
            "page": page,
            "filters": filters,
            "query": query,
            "regions": selectors.alert_regions(user=request.user),
            "states": [(s, AlertState(s).label) for s in selectors.UNRESOLVED],
            "kinds": AlertKind.choices,
            "nav": "alerts",
        },
    )


@require_POST
@role_required(Role.AGENT)
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_for_user(user=request.user, alert_id=alert_id)
    if alert_acknowledge(alert=alert, user=request.user, request=request):
        messages.success(request, f"Acknowledged: {alert.title}")
    else:
        messages.info(request, "That alert was already acknowledged or has resolved.")
    return redirect("alert_list")


_NEW_SECRET = "alerts.new_channel_secret"  # noqa: S105 (a session key's name)


def _secret_keep(request: HttpRequest, channel: NotificationChannel, secret: str) -> None:
    request.session[_NEW_SECRET] = {"channel": channel.pk, "sealed": crypto.encrypt(secret)}


def _secret_pop(request: HttpRequest, region: Region) -> dict[str, object] | None:
    """The signing secret of the channel just created in `region`, once."""
    kept = request.session.get(_NEW_SECRET)
    if not kept:
        return None
    channel = NotificationChannel.objects.filter(pk=kept.get("channel"), region=region).first()
    if channel is None:
        return None
    del request.session[_NEW_SECRET]
    return {"channel": channel, "secret": crypto.decrypt(kept["sealed"])}


def _channel(region: Region, channel_id: int) -> NotificationChannel:
    channel = NotificationChannel.objects.filter(region=region, pk=channel_id).first()
    if channel is None:
        raise Http404("No such notification channel in this region.")
    return channel


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def channel_list_view(request: HttpRequest, slug: str) -> HttpResponse:
    region = region_for_admin(user=request.user, slug=slug)
    form = ChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        channel, secret = channel_create(
            region=region, user=request.user, request=request, **form.cleaned_data
        )
        if secret:
            _secret_keep(request, channel, secret)
        messages.success(
            request, f"Channel {channel.name} added: new alerts of {region.name} go there."
        )
        return redirect("alert_channels", slug=region.slug)
    context = {
        "region": region,
        "form": form,
        "channels": selectors.channel_list(region=region),
        "new_secret": _secret_pop(request, region),
        "nav": "regions",
    }
    return render(request, "alerts/channels.html", context, status=400 if form.errors else 200)


@require_POST
@role_required(Role.ADMIN)
def channel_delete_view(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    region = region_for_admin(user=request.user, slug=slug)
    channel = _channel(region, channel_id)
    if request.POST.get("confirm") != "yes":
        messages.error(
            request, f"Tick the confirmation first: {channel.name} would get no more alerts."
        )
    else:
        channel_delete(channel=channel, user=request.user, request=request)
        messages.success(
            request, f"Channel {channel.name} deleted; its alerts stay on the Alerts page."
        )
    return redirect("alert_channels", slug=region.slug)


@require_POST
@role_required(Role.ADMIN)
def channel_test_view(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    region = region_for_admin(user=request.user, slug=slug)
    channel = _channel(region, channel_id)
    sent, outcome = channel_test(channel=channel, user=request.user, request=request)
    (messages.success if sent else messages.error)(request, outcome)
    return redirect("alert_channels", slug=region.slug)
