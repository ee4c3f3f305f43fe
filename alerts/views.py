"""Alert pages: parse input, call one selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from accounts.permissions import role_required
from alerts import selectors
from alerts.forms import AlertSettingsForm, ChannelEditForm, ChannelForm
from alerts.models import AlertKind, AlertState, NotificationChannel
from alerts.notifications import (
    channel_active_set,
    channel_create,
    channel_delete,
    channel_test,
    channel_update,
)
from alerts.services import alert_acknowledge, alert_settings_update
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
    return selectors.channel_for_region(region=region, channel_id=channel_id)


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
    channels = list(selectors.channel_list(region=region))
    context = {
        "region": region,
        "form": form,
        "channels": channels,
        "failing": [c for c in channels if c.last_error],
        "new_secret": _secret_pop(request, region),
        "thresholds": selectors.alert_thresholds(region=region),
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


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def channel_edit_view(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    region = region_for_admin(user=request.user, slug=slug)
    channel = _channel(region, channel_id)
    form = ChannelEditForm(request.POST or None, channel=channel)
    if request.method == "POST" and form.is_valid():
        update = channel_update(
            channel=channel,
            name=form.cleaned_data["name"],
            target=form.cleaned_data["target"],
            rotate_secret=form.cleaned_data.get("rotate_secret", False),
            user=request.user,
            request=request,
        )
        if update.secret:
            _secret_keep(request, channel, update.secret)
        if update.changed:
            messages.success(request, f"Channel {form.cleaned_data['name']} saved.")
        else:
            messages.info(request, f"Nothing changed in {channel.name}.")
        return redirect("alert_channels", slug=region.slug)
    context = {"region": region, "channel": channel, "form": form, "nav": "regions"}
    return render(request, "alerts/channel_edit.html", context, status=400 if form.errors else 200)


@require_POST
@role_required(Role.ADMIN)
def channel_active_view(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    region = region_for_admin(user=request.user, slug=slug)
    channel = _channel(region, channel_id)
    wanted = request.POST.get("active")
    if wanted not in ("0", "1"):
        messages.error(request, "Choose Pause or Resume on the channel's row.")
        return redirect("alert_channels", slug=region.slug)
    active = wanted == "1"
    if not channel_active_set(channel=channel, active=active, user=request.user, request=request):
        messages.info(request, f"{channel.name} was already {'active' if active else 'paused'}.")
    elif active:
        messages.success(request, f"{channel.name} resumed: new alerts go there again.")
    else:
        messages.success(request, f"{channel.name} paused: no alerts go there until you resume it.")
    return redirect("alert_channels", slug=region.slug)


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def alert_settings_view(request: HttpRequest, slug: str) -> HttpResponse:
    region = region_for_admin(user=request.user, slug=slug)
    thresholds = selectors.alert_thresholds(region=region)
    form = AlertSettingsForm(
        request.POST or None,
        initial={
            "compliance_below": thresholds.compliance_below,
            "compliance_drop": thresholds.compliance_drop,
        },
    )
    if request.method == "POST" and form.is_valid():
        evaluation = alert_settings_update(
            region=region, user=request.user, request=request, **form.cleaned_data
        )
        if evaluation is None:
            messages.info(request, f"The thresholds of {region.name} were already these.")
        else:
            messages.success(
                request,
                f"Thresholds of {region.name} saved and its alerts evaluated again: "
                f"{evaluation.opened} opened, {evaluation.resolved} resolved.",
            )
        return redirect("alert_settings", slug=region.slug)
    context = {
        "region": region,
        "form": form,
        "thresholds": thresholds,
        "nav": "regions",
    }
    return render(request, "alerts/settings.html", context, status=400 if form.errors else 200)
