"""Partner Center's customer resources as its REST reference documents them.

A failure here means the simulator drifted from Microsoft's Partner Center: a list that does
not link to itself, a created admin named differently than Partner Center names it, or a
commerce id that is only the tenant id again.

Reference: https://learn.microsoft.com/partner-center/developer/get-a-list-of-customers
Reference: https://learn.microsoft.com/partner-center/developer/create-a-customer
Reference: https://learn.microsoft.com/partner-center/developer/customer-resources
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.simulator.graph.conftest import PARTNER_CENTER, SimClient


@pytest.fixture
def cloud(sim: Any) -> SimClient:
    return SimClient(sim)


@pytest.fixture
def pc_token(cloud: SimClient) -> str:
    return cloud.token(cloud.us["partner_tenant_id"], PARTNER_CENTER)


def pc(cloud: SimClient, token: str, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}", "MS-RequestId": str(uuid.uuid4())}
    headers.update(kwargs.pop("headers", {}))
    return cloud.session.request(
        method, f"{cloud.partner_center}{path}", headers=headers, timeout=10, **kwargs
    )


def new_customer(prefix: str) -> dict[str, Any]:
    """The documented request body (Partner Center binds its keys case-insensitively)."""
    return {
        "CompanyProfile": {"Domain": f"{prefix}.onmicrosoft.com"},
        "BillingProfile": {
            "Culture": "EN-US",
            "Email": "test@outlook.com",
            "Language": "en",
            "CompanyName": "test company",
            "DefaultAddress": {
                "FirstName": "Test",
                "LastName": "Test",
                "AddressLine1": "One Microsoft Way",
                "City": "Redmond",
                "State": "WA",
                "PostalCode": "98052",
                "Country": "US",
            },
        },
    }


def test_every_page_of_the_customer_list_links_to_itself(cloud, pc_token):
    """The documented list answer carries `links.self` (`/v1/customers?size=40`, GET, no
    headers) beside `links.next` when there is more.
    Reference: https://learn.microsoft.com/partner-center/developer/get-a-list-of-customers
    """
    first = pc(cloud, pc_token, "GET", "/v1/customers?size=2")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["links"]["self"] == {"uri": "/v1/customers?size=2", "method": "GET", "headers": []}
    assert body["attributes"] == {"objectType": "Collection"}
    nxt = body["links"]["next"]
    continuation = {h["key"]: h["value"] for h in nxt["headers"]}
    second = pc(cloud, pc_token, "GET", "/v1" + nxt["uri"], headers=continuation).json()
    assert second["links"]["self"]["uri"] == "/v1/customers?size=2"
    assert second["links"]["self"]["method"] == "GET"


def test_a_created_customers_admin_is_named_as_partner_center_names_it(cloud, pc_token):
    """Create answers `userCredentials` with the bare user name (`"userName": "admin"`) and a
    password, a `commerceId` of its own beside the tenant id, and the tenant in companyProfile.
    Reference: https://learn.microsoft.com/partner-center/developer/create-a-customer
    Reference: https://learn.microsoft.com/partner-center/developer/customer-resources
    """
    prefix = f"fidelity{uuid.uuid4().hex[:8]}"
    created = pc(cloud, pc_token, "POST", "/v1/customers", json=new_customer(prefix))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["userCredentials"]["userName"] == "admin"
    assert set(body["userCredentials"]) == {"userName", "password"}
    assert body["companyProfile"]["tenantId"] == body["id"]
    assert body["companyProfile"]["domain"] == f"{prefix}.onmicrosoft.com"
    assert str(uuid.UUID(body["commerceId"])) == body["commerceId"]
    assert body["commerceId"] != body["id"]
    assert body["attributes"] == {"objectType": "Customer"}

    # The same customer read back and listed keeps its commerce id, still not its tenant id.
    again = pc(cloud, pc_token, "GET", f"/v1/customers/{body['id']}").json()
    assert again["commerceId"] == body["commerceId"]
    assert "userCredentials" not in again  # the password is shown once, at creation
