"""What an agent reads for each kind of Microsoft failure (the table in customers/errors.py)."""

from __future__ import annotations

import pytest

from customers.errors import explain
from customers.models import Customer, RelationshipStatus
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


def test_a_refused_token_keeps_entras_reason_and_points_to_my_access():
    message, status = explain(_refused("invalid_grant", 50126), CUSTOMER)

    assert status == 403
    assert "AADSTS50126" in message and "My access" in message
    assert "few minutes" not in message


def test_a_pending_customer_refused_a_token_is_told_its_relationship_is_still_arriving():
    pending = Customer(name="Northwind", relationship_status=RelationshipStatus.PENDING)
    message, status = explain(_refused("invalid_grant", 50126), pending)

    assert status == 403
    assert "AADSTS50126" in message and "few minutes" in message


@pytest.mark.parametrize(
    "failure",
    [
        lambda: _refused("invalid_grant", 50126),
        lambda: _refused("invalid_client", 7000229),
        lambda: GraphForbidden(status=403),
    ],
)
def test_an_expired_relationship_is_explained_as_expired_with_what_to_do(failure):
    expired = Customer(name="Northwind", relationship_status=RelationshipStatus.EXPIRED)
    message, status = explain(failure(), expired)

    assert status == 403
    assert "has expired" in message and "new GDAP relationship" in message
    assert "few minutes" not in message and "just created" not in message


def test_throttling_of_an_expired_customer_is_still_throttling():
    expired = Customer(name="Northwind", relationship_status=RelationshipStatus.EXPIRED)
    assert "throttling" in explain(GraphThrottled(status=429, retry_after=3), expired)[0]


def test_unreachable_sign_in_throttling_and_forbidden_have_their_own_sentences_and_statuses():
    assert explain(IdentityUnavailable(ConnectionError()), CUSTOMER)[1] == 503
    throttled = explain(GraphThrottled(status=429, retry_after=7.2), CUSTOMER)
    assert throttled == ("Microsoft is throttling requests for Northwind; try again in 8 s.", 429)
    assert "GDAP roles" in explain(GraphForbidden(status=403), CUSTOMER)[0]
