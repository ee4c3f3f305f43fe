"""Where each role lands after sign-in (the home page `/`): managers on the compliance
dashboard, agents on the customers list, admins on the customers list too unless their
regions' setup needs them (then on the regions page and its summary)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from accounts.models import Role
from regions.models import Region
from tests.factories import client_for, region_make, user_make

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "landing"),
    [
        ("agent@contosopartners.com", "/customers/"),
        ("manager@contosopartners.com", "/compliance/"),
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


def test_an_admin_whose_region_needs_nothing_lands_on_the_customers() -> None:
    region = region_make("landing")
    admin = user_make(region=region, role=Role.ADMIN)
    home = client_for(admin).get("/", follow=True)
    assert [url for url, _ in home.redirect_chain] == ["/home/admin/", "/customers/"]


def test_an_admin_whose_region_lacks_a_credential_lands_on_the_setup_summary() -> None:
    region = region_make("landing")
    Region.objects.filter(pk=region.pk).update(client_secret_encrypted="")
    admin = user_make(region=region, role=Role.ADMIN)
    home = client_for(admin).get("/", follow=True)
    assert [url for url, _ in home.redirect_chain] == ["/home/admin/", "/regions/"]
    body = home.content.decode()
    assert 'data-testid="setup-attention"' in body and "has no app credential" in body


def test_an_agent_never_reaches_the_admin_landing() -> None:
    region = region_make("landing")
    agent = user_make(region=region, role=Role.AGENT)
    assert client_for(agent).get("/home/admin/").status_code == 403
