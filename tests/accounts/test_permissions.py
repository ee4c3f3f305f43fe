"""`@role_required`: anonymous → sign-in, no portal role → "no access", too low → 403.

The roles come from the database (sign-in sets them: tests/accounts/test_signin_flow.py), so
the users here come from the factories; tests/test_roles_matrix.py walks every URL."""

from __future__ import annotations

import pytest

from accounts.models import Role
from tests.factories import client_for, user_make

pytestmark = pytest.mark.django_db


def test_an_agent_without_a_portal_role_sees_no_access(norole_user):
    client = client_for(norole_user)
    response = client.get("/", follow=True)
    assert response.status_code == 403
    assert b"no role in the CSP Portal" in response.content
    assert client.get("/customers/").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in_with_the_page_to_come_back_to(portal_client):
    response = portal_client.get("/customers/?q=a")
    assert response.status_code == 302
    assert response["Location"] == "/signin/?next=/customers/%3Fq%3Da"


def test_a_role_too_low_gets_a_403_that_names_the_role_needed(own_agent, own_region):
    response = client_for(own_agent).get("/regions/")
    assert response.status_code == 403
    assert b'data-testid="no-access"' not in response.content
    assert b"It needs the Admin role." in response.content
    manager = client_for(user_make(region=own_region, role=Role.MANAGER))
    assert manager.get("/compliance/").status_code == 200
