"""The form that adds a notification channel to a region."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from alerts.models import ChannelKind
from mscloud.http import host_refusal

MAX_ADDRESSES = 20


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
        if kind == ChannelKind.EMAIL:
            addresses = [a.strip() for a in target.replace(";", ",").split(",") if a.strip()]
            if not addresses or len(addresses) > MAX_ADDRESSES:
                self.add_error("target", f"Enter between 1 and {MAX_ADDRESSES} e-mail addresses.")
                return data
            for address in addresses:
                try:
                    validate_email(address)
                except ValidationError:
                    self.add_error("target", f"{address} is not an e-mail address.")
                    return data
            data["target"] = ", ".join(addresses)
            return data
        allow_private = settings.ALERT_WEBHOOK_ALLOW_PRIVATE_HOSTS
        try:
            URLValidator(schemes=["http", "https"] if allow_private else ["https"])(target)
        except ValidationError:
            self.add_error(
                "target",
                "Enter the webhook's full https:// URL."
                if not allow_private
                else "Enter the webhook's full http:// or https:// URL.",
            )
            return data
        if host_refusal(target, require_https=False, allow_private_hosts=allow_private):
            self.add_error(
                "target",
                "That URL points to a loopback, private or reserved address, and the portal "
                "does not post there. Enter a public webhook URL.",
            )
            return data
        data["target"] = target
        return data
