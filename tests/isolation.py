"""Who may see what, without the simulator: two regions, a customer in each, and their users.

Like healthchecks' alice/bob/charlie: `own_agent` works in `own_region` ("us"), whose customer
is `own_customer`; `other_agent` works in `other_region` ("eu") with `other_customer`;
`norole_user` signed in to "us" but holds no portal role. Sign any of them in with
`tests.factories.client_for(user)`. Registered for every test by tests/conftest.py.
"""

from __future__ import annotations

import pytest

from accounts.models import Role, User
from customers.models import Customer
from regions.models import Region
from tests.factories import customer_make, region_make, user_make


@pytest.fixture
def own_region(db: None) -> Region:
    return region_make("us", name="United States", domain="contosopartners.com")


@pytest.fixture
def other_region(db: None) -> Region:
    return region_make("eu", name="Europe", domain="contosopartners.eu")


@pytest.fixture
def own_customer(own_region: Region) -> Customer:
    return customer_make(region=own_region)


@pytest.fixture
def other_customer(other_region: Region) -> Customer:
    return customer_make(region=other_region)


@pytest.fixture
def own_agent(own_region: Region) -> User:
    return user_make(region=own_region, role=Role.AGENT)


@pytest.fixture
def other_agent(other_region: Region) -> User:
    return user_make(region=other_region, role=Role.AGENT)


@pytest.fixture
def norole_user(own_region: Region) -> User:
    return user_make(region=own_region, role=Role.NONE)
