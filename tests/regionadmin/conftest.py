"""Region admin page fixtures: a signed-in portal admin and form data pointing at the simulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from tests.regions.conftest import sim_region
from tests.simharness import Simulator

ADMIN = "admin@contosopartners.com"  # the US region's admin
GLOBAL_ADMIN = "globaladmin@contosopartners.com"  # Portal.GlobalAdmin: every region


@pytest.fixture
def admin_client(sign_in: Callable[[str], Client]) -> Client:
    return sign_in(ADMIN)


@pytest.fixture
def global_admin_client(sign_in: Callable[[str], Client]) -> Client:
    """Creating regions and editing another region than one's own are a global admin's."""
    return sign_in(GLOBAL_ADMIN)


@pytest.fixture
def region_data(world: dict[str, Any], sim: Simulator) -> Callable[..., dict[str, str]]:
    """POST data for the region form: the simulator's region `slug`, with overrides."""

    def _data(slug: str = "eu", **overrides: str) -> dict[str, str]:
        region = sim_region(world, slug)
        endpoints = world["endpoints"]
        data = {
            "name": region["name"],
            "slug": region["slug"],
            "active": "on",
            "domains": region["partner_domain"],
            "partner_tenant_id": region["partner_tenant_id"],
            "cloud": "custom",
            "login_host": endpoints["login"],
            "graph_base_url": endpoints["graph"],
            "graph_resource": "https://graph.microsoft.com",
            "partner_center_base_url": endpoints["partner_center"],
            "partner_center_resource": "https://api.partnercenter.microsoft.com",
            "ca_bundle": sim.ca,
            "client_id": region["app"]["client_id"],
            "credential_type": "secret",
            "client_secret": region["app"]["client_secret"],
            "client_secret_expires_on": (date.today() + timedelta(days=365)).isoformat(),
        }
        data.update(overrides)
        return {k: v for k, v in data.items() if v is not None}

    return _data
