"""The forms of a region's notification channels and alert thresholds."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from alerts.models import ChannelKind, NotificationChannel
from mscloud.http import host_refusal

MAX_ADDRESSES = 20


def target_clean(kind: str, target: str) -> str:
    """The channel's target in its stored form; ValidationError with a sentence otherwise."""
    target = target.strip()
    if kind == ChannelKind.EMAIL:
        addresses = [a.strip() for a in target.replace(";", ",").split(",") if a.strip()]
        if not addresses or len(addresses) > MAX_ADDRESSES:
            raise ValidationError(f"Enter between 1 and {MAX_ADDRESSES} e-mail addresses.")
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"{address} is not an e-mail address.") from None
        return ", ".join(addresses)
    allow_private = settings.ALERT_WEBHOOK_ALLOW_PRIVATE_HOSTS
    try:
        URLValidator(schemes=["http", "https"] if allow_private else ["https"])(target)
    except ValidationError:
        raise ValidationError(
            "Enter the webhook's full https:// URL."
            if not allow_private
            else "Enter the webhook's full http:// or https:// URL."
        ) from None
    if host_refusal(target, require_https=False, allow_private_hosts=allow_private):
        raise ValidationError(
            "That URL points to a loopback, private or reserved address, and the portal "
            "does not post there. Enter a public webhook URL."
        )
    return target


class ChannelForm(forms.Form):
    kind = forms.ChoiceField(
        choices=ChannelKind.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"class": "form-control"}))
    target = forms.CharField(
        label="Addresses or URL",
        max_length=2000,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
        help_text="E-mail addresses separated by commas, or the webhook URL the service gave you.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind, target = data.get("kind"), (data.get("target") or "").strip()
        if not kind or not target:
            return data
        try:
            data["target"] = target_clean(kind, target)
        except ValidationError as exc:
            self.add_error("target", exc)
        return data


class ChannelEditForm(forms.Form):
    """A channel's name and target (its kind stays); a webhook's URL is never shown back, so
    a blank one keeps it; a signed JSON webhook may get a new signing secret."""

    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"class": "form-control"}))
    target = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    rotate_secret = forms.BooleanField(
        required=False,
        label="Make a new signing secret (the old one stops working at once)",
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args: Any, channel: NotificationChannel, **kwargs: Any) -> None:
        initial = {"name": channel.name}
        if not channel.is_webhook:
            initial["target"] = channel.target  # addresses are shown on the page anyway
        super().__init__(*args, initial=initial, **kwargs)
        self.channel = channel
        target = self.fields["target"]
        if channel.is_webhook:
            target.label = "New webhook URL"
            target.help_text = (
                f"Now {channel.target_display} (the whole URL is a credential and is not shown). "
                "Leave blank to keep it."
            )
        else:
            target.label = "Addresses"
            target.required = True
            target.help_text = "E-mail addresses separated by commas."
        if channel.kind != ChannelKind.WEBHOOK_JSON:
            del self.fields["rotate_secret"]

    def clean_target(self) -> str:
        target = (self.cleaned_data.get("target") or "").strip()
        if not target:
            return ""
        return target_clean(self.channel.kind, target)


class AlertSettingsForm(forms.Form):
    compliance_below = forms.IntegerField(
        label="Alert when a customer's compliance is below (percent)",
        min_value=0,
        max_value=100,
        error_messages={
            "required": "Enter a percentage between 0 and 100.",
            "invalid": "Enter a whole percentage between 0 and 100.",
            "min_value": "Enter a percentage between 0 and 100.",
            "max_value": "Enter a percentage between 0 and 100.",
        },
        widget=forms.NumberInput(attrs={"class": "form-control", "min": 0, "max": 100}),
        help_text="0 turns this alert off: no rate is below 0%.",
    )
    compliance_drop = forms.IntegerField(
        label="Alert when compliance drops between two sweeps by at least (points)",
        min_value=1,
        max_value=100,
        error_messages={
            "required": "Enter a number of points between 1 and 100.",
            "invalid": "Enter a whole number of points between 1 and 100.",
            "min_value": "Enter a number of points between 1 and 100.",
            "max_value": "Enter a number of points between 1 and 100.",
        },
        widget=forms.NumberInput(attrs={"class": "form-control", "min": 1, "max": 100}),
    )
