"""What an agent reads for each kind of Microsoft failure (the table in customers/errors.py)."""

from __future__ import annotations

import pytest

from customers.errors import explain
from customers.models import Customer
from mscloud.errors import GraphForbidden, GraphThrottled
from mscloud.identity import IdentityError, IdentityUnavailable, raise_for_result

CUSTOMER = Customer(name="Northwind")


def _refused(error: str, code: int) -> IdentityError:
    with pytest.raises(IdentityError) as caught:
        raise_for_result(
            {"error": error, "error_description": f"AADSTS{code}: x.", "error_codes": [code]}
        )
    return caught.value


def test_an_app_without_consent_is_explained_as_such_never_as_wait_a_few_minutes():
    # Reference: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
    message, status = explain(_refused("invalid_client", 7000229), CUSTOMER)

    assert status == 403
    assert "not consented" in message and "Northwind" in message
    assert "wait a few minutes" not in message


def test_a_delegated_consent_required_is_not_consented_and_points_to_my_access():
    # 65001 with suberror consent_required: no redirect to /authorize, an admin consents.
    message, status = explain(_refused("invalid_grant", 65001), CUSTOMER)

    assert status == 403
    assert "not consented" in message and "My access" in message


def test_an_agent_in_no_assigned_group_is_told_about_groups_not_to_wait():
    # Reference: https://learn.microsoft.com/partner-center/customers/gdap-assign-microsoft-entra-roles
    message, status = explain(_refused("invalid_grant", 50020), CUSTOMER)

    assert status == 403
    assert "partner security group" in message and "AADSTS50020" in message
    assert "wait a few minutes" not in message


def test_a_refused_token_keeps_entras_reason_and_the_propagation_hint():
    message, status = explain(_refused("invalid_grant", 50126), CUSTOMER)

    assert status == 403
    assert "AADSTS50126" in message and "wait a few minutes" in message


def test_unreachable_sign_in_throttling_and_forbidden_have_their_own_sentences_and_statuses():
    assert explain(IdentityUnavailable(ConnectionError()), CUSTOMER)[1] == 503
    throttled = explain(GraphThrottled(status=429, retry_after=7.2), CUSTOMER)
    assert throttled == ("Microsoft is throttling requests for Northwind; try again in 8 s.", 429)
    assert "GDAP roles" in explain(GraphForbidden(status=403), CUSTOMER)[0]
