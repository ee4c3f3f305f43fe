"""The new-customer form builds the customer object Partner Center expects."""

from __future__ import annotations

from provisioning.forms import CustomerCreateForm
from tests.provisioning.conftest import form_data


def test_the_payload_sends_the_whole_onmicrosoft_domain_not_the_bare_prefix():
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/create-a-customer
    # (Microsoft's sample sets CompanyProfile.Domain to prefix + ".onmicrosoft.com").
    form = CustomerCreateForm(data=form_data(domain_prefix="LakeSide42.onmicrosoft.com"))

    assert form.is_valid(), form.errors
    assert form.payload()["CompanyProfile"] == {"Domain": "lakeside42.onmicrosoft.com"}
