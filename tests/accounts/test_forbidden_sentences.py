"""403 pages read as sentences: the role needed when a role check refused, the reason when a
view refused (never "It needs the a higher role")."""

from __future__ import annotations

import pytest

from accounts.models import Role
from tests.factories import client_for, user_make

pytestmark = pytest.mark.django_db


def test_a_manager_without_a_region_is_told_why_not_that_it_needs_the_a_higher_role():
    response = client_for(user_make(region=None, role=Role.MANAGER)).get("/compliance/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "the a " not in body
    assert "Your account belongs to no active region." in body
