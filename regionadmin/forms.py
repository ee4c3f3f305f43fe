"""The region form admins fill in: validation that explains what to fix, secrets write-only."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.utils import timezone

from mscloud.http import host_refusal
from regions.access_template import access_template_parse, access_template_text
from regions.certificates import CertificateError, certificate_expiry, check_key_pair
from regions.models import (
    CLOUD_PRESETS,
    CONFIGURED_FIELDS,
    ENDPOINT_FIELDS,
    ENDPOINT_META,
    CredentialType,
    Region,
    RegionDomain,
)

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never renders its value back (private keys)."""

    def format_value(self, value: Any) -> None:
        return None


class GuidField(forms.CharField):
    """A GUID in any case, with or without braces; cleaned to the canonical lower-case form."""

    def __init__(self, *, what: str, where: str, **kwargs: Any) -> None:
        self.what, self.where = what, where
        kwargs.setdefault("widget", forms.TextInput(attrs={"class": "mono", "spellcheck": "false"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        text = super().to_python(value).strip().strip("{}")
        if not text:
            return ""
        try:
            return str(uuid.UUID(text))
        except ValueError:
            raise forms.ValidationError(
                f"“{text[:60]}” is not a GUID. Copy the {self.what} from {self.where}; it looks "
                "like 00000000-0000-0000-0000-000000000000."
            ) from None


def parse_domains(raw: str) -> list[str]:
    """Domains separated by commas, spaces or new lines; lower-case, without duplicates."""
    return list(dict.fromkeys(d.strip().lower() for d in re.split(r"[\s,;]+", raw) if d.strip()))


class RegionForm(forms.ModelForm):
    partner_tenant_id = GuidField(
        label="Partner tenant id",
        what="tenant id",
        where="the Entra admin center (Overview → Tenant ID) of this region's partner tenant",
        # Declared fields take model-validation messages from here, not from Meta.
        error_messages={
            "unique": "Another region already uses this partner tenant. Each region has its "
            "own partner tenant: check the tenant id."
        },
    )
    client_id = GuidField(
        label="Application (client) id",
        what="application (client) id",
        where="the app registration's Overview page in the partner tenant",
    )
    domains = forms.CharField(
        label="Sign-in domains",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text="The domains of your agents' usernames in this region, one per line. "
        "Each domain belongs to one region only.",
    )
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: it is stored encrypted and never shown again. Leave empty to "
        "keep the current secret.",
    )
    client_secret_expires_on = forms.DateField(
        label="Secret expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The “Expires” date Entra showed when you created the secret.",
    )
    certificate_pem = forms.CharField(
        label="Certificate (PEM)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono", "spellcheck": "false"}),
        help_text="The public certificate you uploaded to the app registration.",
    )
    certificate_key = forms.CharField(
        label="Private key (PEM)",
        required=False,
        widget=WriteOnlyTextarea(attrs={"rows": 4, "class": "mono", "spellcheck": "false"}),
        help_text="Write-only, unencrypted PKCS#8 or PKCS#1 PEM; stored encrypted. Leave empty "
        "to keep the current key.",
    )

    new_customer_access = forms.CharField(
        label="Partner groups given access in each customer the portal creates",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono", "spellcheck": "false"}),
        help_text="One partner security group per line: its object id, a colon, then the "
        "Entra roles it gets, comma-separated, e.g. “1b2c…: Directory Readers, Helpdesk "
        "Administrator”. Only roles the new customer's GDAP relationship has are given. "
        "Empty: nobody but the app reaches a new customer until you assign groups in Partner "
        "Center.",
    )

    class Meta:
        model = Region
        fields = CONFIGURED_FIELDS
        widgets = {"credential_type": forms.RadioSelect}
        error_messages = {
            "slug": {"unique": "Another region already uses this slug. Pick a different one."},
        }
        labels = {
            **{name: ENDPOINT_META[name]["label"] for name in ENDPOINT_FIELDS},
            "ca_bundle": "CA bundle",
            "active": "Active: agents of this region may sign in",
        }
        help_texts = {
            "slug": "Short name used in URLs and the audit log, e.g. “us” or “eu”.",
            "active": "Inactive regions keep their configuration but nobody can sign in.",
            "ca_bundle": "Custom endpoints only: a CA bundle file to trust (the simulator's "
            "ca.pem). Empty: the system's CAs.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        region = self.instance
        for bound in self.fields.values():
            widget = bound.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()
        for name in ENDPOINT_FIELDS:
            # Filled from the cloud preset unless the cloud is "custom"; checked in clean().
            self.fields[name].required = False
        if region.pk:
            self.initial.setdefault("domains", "\n".join(d.domain for d in region.domains.all()))
            if region.client_secret_expires_at:
                self.initial.setdefault(
                    "client_secret_expires_on", region.client_secret_expires_at.date()
                )
            self.initial.setdefault("certificate_pem", region.certificate_pem)
        # The lines people edit, never the stored JSON (a new region's [] included).
        self.initial["new_customer_access"] = access_template_text(region.new_customer_access)

    def full_clean(self) -> None:
        super().full_clean()
        # Bootstrap's red outline; Django adds aria-invalid and aria-describedby (the ids
        # `<id>_error` and `<id>_helptext` are in regions/_field.html).
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                css = widget.attrs.get("class", "")
                if "is-invalid" not in css.split():
                    widget.attrs["class"] = f"{css} is-invalid".strip()

    @property
    def endpoint_fields(self) -> list[forms.BoundField]:
        """The endpoint fields in CloudEndpoints order, for the page to loop over."""
        return [self[name] for name in ENDPOINT_FIELDS]

    @property
    def endpoint_errors(self) -> bool:
        return any(name in self.errors for name in ENDPOINT_FIELDS)

    @property
    def has_secret(self) -> bool:
        return bool(self.instance.pk and self.instance.client_secret_encrypted)

    @property
    def has_certificate_key(self) -> bool:
        return bool(self.instance.pk and self.instance.certificate_key_encrypted)

    def clean_domains(self) -> list[str]:
        domains = parse_domains(self.cleaned_data.get("domains", ""))
        if not domains:
            raise forms.ValidationError("Enter at least one sign-in domain, e.g. contoso.com.")
        # Every domain is checked and every problem listed: one round trip, not one per domain.
        errors = [
            forms.ValidationError(
                f"“{d[:80]}” is not a domain name. Enter domains like contoso.com, without "
                "“@” or “https://”."
            )
            for d in domains
            if not _DOMAIN.match(d)
        ]
        taken = RegionDomain.objects.filter(domain__in=domains).select_related("region")
        if self.instance.pk:
            taken = taken.exclude(region=self.instance)
        errors += [
            forms.ValidationError(
                f"{match.domain} already signs in to region {match.region.name}. A domain "
                "belongs to one region only: remove it there first, or leave it out here."
            )
            for match in taken.order_by("domain")
        ]
        if errors:
            raise forms.ValidationError(errors)
        return domains

    def clean_new_customer_access(self) -> list[dict[str, Any]]:
        try:
            return access_template_parse(self.cleaned_data.get("new_customer_access") or "")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if slug == "new":
            raise forms.ValidationError("“new” is reserved. Pick another slug, e.g. “us”.")
        return slug

    def clean_ca_bundle(self) -> str:
        return self.cleaned_data.get("ca_bundle", "").strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._clean_endpoints(data)
        if data.get("credential_type") == CredentialType.CERTIFICATE:
            self._clean_certificate(data)
        else:
            self._clean_secret(data)
        self._require_credential_for_new_endpoints(data)
        return data

    def _require_credential_for_new_endpoints(self, data: dict[str, Any]) -> None:
        # The stored credential was given for the old endpoints: it must not follow new ones
        # (a changed login host would receive the secret at the next token request).
        if not self.instance.pk:
            return
        stored = self.instance.endpoints.as_dict()
        moved = [name for name in ENDPOINT_FIELDS if name in data and data[name] != stored[name]]
        entered = data.get("client_secret") or data.get("certificate_key")
        if moved and not entered:
            field = (
                "certificate_key"
                if data.get("credential_type") == CredentialType.CERTIFICATE
                else "client_secret"
            )
            self.add_error(
                field,
                "You changed the region's Microsoft endpoints, so enter the credential again: "
                "the stored one is never sent to new endpoints without you re-entering it.",
            )

    def _clean_endpoints(self, data: dict[str, Any]) -> None:
        cloud = data.get("cloud")
        if cloud in CLOUD_PRESETS:
            data.update(CLOUD_PRESETS[cloud].as_dict())
            data["ca_bundle"] = ""
            return
        for name in ENDPOINT_FIELDS:
            url = (data.get(name) or "").strip()
            if not url:
                if name not in self.errors:
                    self.add_error(
                        name, "Custom endpoints need this URL. Enter it, or choose a cloud."
                    )
                continue
            parts = urlsplit(url)
            # Plain http:// only where the portal may call a local simulator (dev, tests).
            plain_ok = not settings.MICROSOFT_REQUIRE_HTTPS and parts.hostname in _LOOPBACK
            if parts.scheme != "https" and not (parts.scheme == "http" and plain_ok):
                self.add_error(
                    name,
                    "Use an https:// URL."
                    if settings.MICROSOFT_REQUIRE_HTTPS
                    else "Use an https:// URL. Plain http:// is accepted only for 127.0.0.1 "
                    "or localhost (a local simulator).",
                )
            elif parts.query or parts.fragment:
                self.add_error(name, "Enter the base URL only, without “?” or “#” parts.")
            elif refusal := self._endpoint_refusal(name, url):
                self.add_error(name, refusal)
            else:
                data[name] = url.rstrip("/")

    @staticmethod
    def _endpoint_refusal(name: str, url: str) -> str | None:
        """Why the portal would refuse to call this endpoint (a loopback, private or link-local
        host in production), as the field's error; token audiences are never called."""
        if name.endswith("_resource"):
            return None
        return host_refusal(
            url, require_https=False, allow_private_hosts=settings.MICROSOFT_ALLOW_PRIVATE_HOSTS
        )

    def _clean_secret(self, data: dict[str, Any]) -> None:
        secret = data.get("client_secret", "")
        expires_on = data.get("client_secret_expires_on")
        if not secret and not self.has_secret:
            self.add_error(
                "client_secret",
                "Enter the client secret's value (Certificates & secrets → New client secret "
                "→ Value), or choose the certificate credential.",
            )
        if secret and not expires_on:
            self.add_error(
                "client_secret_expires_on",
                "Enter the date the new secret expires, so the portal can warn before it does.",
            )
        expires_at = _end_of_day(expires_on) if expires_on else None
        if expires_at and expires_at <= timezone.now() and data.get("active", True):
            self.add_error(
                "client_secret_expires_on",
                "This date is in the past: the secret has expired and nobody could sign in. "
                "Create a new secret in Entra and enter it with its new expiry date, or make "
                "the region inactive.",
            )
        data["client_secret_expires_at"] = expires_at

    def _clean_certificate(self, data: dict[str, Any]) -> None:
        cert = (data.get("certificate_pem") or "").strip()
        key = (data.get("certificate_key") or "").strip()
        if not cert:
            self.add_error(
                "certificate_pem",
                "Paste the certificate you uploaded to the app registration (PEM text).",
            )
            return
        if not key and not self.has_certificate_key:
            self.add_error("certificate_key", "Paste the certificate's private key (PEM text).")
            return
        try:
            if key or cert != self.instance.certificate_pem:
                check_key_pair(
                    private_key_pem=key or self.instance.certificate_private_key,
                    certificate_pem=cert,
                )
            expires_at = certificate_expiry(cert)
        except CertificateError as exc:
            self.add_error("certificate_key" if key else "certificate_pem", str(exc))
            return
        if expires_at <= timezone.now() and data.get("active", True):
            self.add_error(
                "certificate_pem",
                f"This certificate expired on {expires_at:%Y-%m-%d}. Upload a new one to the "
                "app registration and paste it here, or make the region inactive.",
            )
        data["certificate_pem"] = cert + "\n"
        data["certificate_key"] = key


def _end_of_day(day: Any) -> datetime:
    # Entra shows a secret's expiry as a date; it is valid through that day (UTC).
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
