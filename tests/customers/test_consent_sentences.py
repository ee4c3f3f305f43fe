"""How each consent failure reads: one sentence per kind, saying what to do next."""

from __future__ import annotations

import pytest

from customers import consent
from customers.consent import ConsentKind
from customers.models import Customer
from mscloud.errors import (
    PartnerCenterConflict,
    PartnerCenterForbidden,
    PartnerCenterUnauthorized,
    PartnerCenterUnavailable,
)
from mscloud.identity import IdentityError, InteractionRequired


@pytest.fixture
def customer() -> Customer:
    return Customer(name="Northwind Dental")


def test_partner_center_403_names_admin_agents_and_the_gdap_roles_consent_needs(customer):
    outcome = consent._partner_center_refusal(
        PartnerCenterForbidden("Forbidden", status=403), customer
    )

    assert outcome.kind == ConsentKind.PARTNER_CENTER_REFUSED
    assert "AdminAgents" in outcome.message and "Northwind Dental" in outcome.message
    assert "Cloud Application Administrator" in outcome.message
    assert outcome.state is None and not outcome.retry_later


def test_partner_center_down_is_worth_retrying_and_says_so(customer):
    outcome = consent._partner_center_refusal(PartnerCenterUnavailable(status=503), customer)

    assert outcome.kind == ConsentKind.UNAVAILABLE and outcome.retry_later
    assert "Partner Center" in outcome.message and "try again in a minute" in outcome.message


def test_partner_center_401_asks_for_a_new_sign_in(customer):
    outcome = consent._partner_center_refusal(PartnerCenterUnauthorized(status=401), customer)

    assert outcome.kind == ConsentKind.SIGN_IN and "sign in again" in outcome.message


def test_no_token_in_the_customer_names_the_missing_group_not_a_wait(customer):
    refused = IdentityError("invalid_grant", "AADSTS50020: User is not in the tenant.", [50020])

    outcome = consent._token_refusal(refused, customer)

    assert outcome.kind == ConsentKind.NO_ACCESS
    assert "partner security groups" in outcome.message
    assert "wait" not in outcome.message.lower()


def test_an_interaction_the_admin_must_do_asks_for_a_new_sign_in(customer):
    outcome = consent._token_refusal(InteractionRequired("invalid_grant", "MFA", [50076]), customer)

    assert outcome.kind == ConsentKind.SIGN_IN and "multi-factor" in outcome.message


@pytest.mark.parametrize("kind", list(ConsentKind))
def test_every_kind_has_a_sentence_naming_the_customer(kind, customer):
    outcome = consent._outcome(kind, customer, detail="words.", roles=("A",), wait=3)

    assert "Northwind Dental" in outcome.message and outcome.message.endswith(".")


def test_a_conflict_is_not_a_refusal(customer):
    # Partner Center's 409 means the consent exists: consent_request goes on with it.
    assert PartnerCenterConflict(status=409).kind == "conflict"
