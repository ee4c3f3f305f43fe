"""Where each role lands after sign-in (the home page `/`): managers on the compliance
dashboard, agents and admins on the customers list."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "landing"),
    [
        ("agent@contosopartners.com", "/customers/"),
        ("manager@contosopartners.com", "/compliance/"),
        ("admin@contosopartners.com", "/customers/"),
        ("globaladmin@contosopartners.com", "/customers/"),
    ],
)
def test_a_signed_in_user_lands_where_their_role_works(
    sign_in: Callable[[str], Client], username: str, landing: str
) -> None:
    client = sign_in(username)
    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"] == landing
    assert client.get(landing).status_code == 200
