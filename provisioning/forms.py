"""The "new customer" form: what Partner Center needs, checked before it is asked."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms

from provisioning.countries import ISO_3166_ALPHA2

ONMICROSOFT = ".onmicrosoft.com"
_PREFIX = re.compile(r"^[a-z0-9]{2,27}$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{4,25}$")


class CustomerCreateForm(forms.Form):
    # A new key per rendered form: resubmitting the same page reuses it, so Partner Center
    # (MS-RequestId) and our unique row both see the same request.
    key = forms.UUIDField(widget=forms.HiddenInput)
    company_name = forms.CharField(label="Company name", max_length=256)
    domain_prefix = forms.CharField(
        label="Domain",
        max_length=60,
        help_text="The part before .onmicrosoft.com: 2 to 27 letters or digits.",
    )
    first_name = forms.CharField(label="First name", max_length=100)
    last_name = forms.CharField(label="Last name", max_length=100)
    email = forms.EmailField(label="Email", max_length=254)
    phone_number = forms.CharField(label="Phone", max_length=25, required=False)
    address_line1 = forms.CharField(label="Address", max_length=256)
    city = forms.CharField(label="City", max_length=128)
    state = forms.CharField(label="State or province", max_length=64, required=False)
    postal_code = forms.CharField(label="Postal code", max_length=16)
    country = forms.CharField(
        label="Country",
        max_length=2,
        min_length=2,
        help_text="Two-letter ISO 3166 code, e.g. US, DE, FR.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("class", "form-control")
            if name in self.errors:
                field.widget.attrs["class"] += " is-invalid"
        self.fields["domain_prefix"].widget.attrs.update(
            {"autocapitalize": "none", "spellcheck": "false", "placeholder": "contosodental"}
        )
        self.fields["country"].widget.attrs["placeholder"] = "US"
        self.fields["email"].widget.attrs["autocomplete"] = "email"

    @classmethod
    def blank(cls, **initial: Any) -> CustomerCreateForm:
        return cls(initial={"key": uuid.uuid4(), **initial})

    def clean_company_name(self) -> str:
        return " ".join(self.cleaned_data["company_name"].split())

    def clean_domain_prefix(self) -> str:
        prefix = self.cleaned_data["domain_prefix"].strip().lower().removesuffix(ONMICROSOFT)
        if not _PREFIX.match(prefix):
            raise forms.ValidationError(
                "Use 2 to 27 letters or digits only (no dots, dashes or spaces), for example "
                "contosodental: it becomes contosodental.onmicrosoft.com."
            )
        return prefix

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if country not in ISO_3166_ALPHA2:
            raise forms.ValidationError(
                f"{country} is not an ISO 3166 country code; use two letters such as US or DE."
            )
        return country

    def clean_phone_number(self) -> str:
        phone = self.cleaned_data["phone_number"].strip()
        if phone and not _PHONE.match(phone):
            raise forms.ValidationError(
                "Use digits, spaces and + ( ) - only, e.g. +1 425 555 0100."
            )
        return phone

    def payload(self, *, culture: str = "en-US", language: str = "en") -> dict[str, Any]:
        """The Partner Center customer object for POST /v1/customers."""
        # Reference: https://learn.microsoft.com/en-us/partner-center/developer/create-a-customer
        data = self.cleaned_data
        return {
            "CompanyProfile": {"Domain": f"{data['domain_prefix']}.onmicrosoft.com"},
            "BillingProfile": {
                "Culture": culture,
                "Email": data["email"],
                "Language": language,
                "CompanyName": data["company_name"],
                "DefaultAddress": {
                    "FirstName": data["first_name"],
                    "LastName": data["last_name"],
                    "AddressLine1": data["address_line1"],
                    "City": data["city"],
                    "State": data["state"],
                    "PostalCode": data["postal_code"],
                    "Country": data["country"],
                    "PhoneNumber": data["phone_number"],
                },
            },
        }
