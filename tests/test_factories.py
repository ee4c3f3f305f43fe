"""The factories make rows as the portal makes them, and their clients are really signed in."""

from __future__ import annotations

import pytest

from accounts import sessionclock
from accounts.models import Role
from regions.models import CLOUD_PRESETS, Cloud
from regions.selectors import region_for_username
from tests.factories import client_for, customer_make, region_make, user_make

pytestmark = pytest.mark.django_db


def test_a_made_region_is_on_the_global_cloud_with_a_secret_and_a_sign_in_domain():
    region = region_make("eu", domain="fabrikam.example")
    assert region.endpoints == CLOUD_PRESETS[Cloud.GLOBAL]
    assert region.client_secret and region.client_secret not in region.client_secret_encrypted
    assert region_for_username(username="dana@fabrikam.example") == region
    assert region_make("us").partner_tenant_id != region.partner_tenant_id


def test_a_made_customer_belongs_to_its_region_with_an_active_relationship(own_region):
    customer = customer_make(region=own_region)
    assert customer.region == own_region
    assert customer.relationship_status == "active"
    assert customer_make(region=own_region).tenant_id != customer.tenant_id


def test_a_made_user_is_keyed_like_sign_in_keys_one(own_region):
    agent = user_make(region=own_region)
    admin = user_make(region=own_region, role=Role.ADMIN)
    assert agent.tenant_id == own_region.partner_tenant_id and agent.object_id
    assert agent.username == f"{agent.tenant_id}/{agent.object_id}"
    assert agent.role == Role.AGENT and not agent.is_staff
    assert admin.is_staff and not admin.is_superuser  # nobody is a superuser
    assert not agent.has_usable_password()


def test_a_client_for_a_user_is_signed_in_with_its_session_clock_started(own_agent, settings):
    client = client_for(own_agent)
    assert sessionclock.AUTH_AT in client.session and sessionclock.SEEN_AT in client.session
    assert client.get("/customers/").status_code == 200
    settings.SESSION_IDLE_TIMEOUT = -1  # every request is now "idle too long"
    assert client.get("/customers/").status_code == 302


def test_the_isolation_fixtures_are_two_regions_apart(
    own_agent, other_agent, norole_user, own_customer, other_customer
):
    assert own_agent.region == own_customer.region == norole_user.region
    assert other_agent.region == other_customer.region != own_agent.region
    assert norole_user.role == Role.NONE
