"""Graph collections: empty sets, @odata.count, $expand, options without `$`, $batch ids.

This module runs its own simulator in which no customer has a device, so the empty
collections are the real ones the portal meets for a new customer. Each test names the
page of Microsoft's documentation it follows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fidelity.graph_client import EVENTUAL, GraphApp, graph_error
from tests.simharness import Simulator

AGENT = "agent@contosopartners.com"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """Overrides the suite's simulator for this module: customers without devices."""
    simulator = Simulator("--users", "30", "--devices", "0")
    yield simulator
    simulator.stop()


@pytest.fixture
def app(sim: Simulator) -> Iterator[GraphApp]:
    client = GraphApp(sim)
    yield client
    client.session.close()
    sim.reset()


# ----- empty collections ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "fields", "entity_type"),
    [
        (
            "/v1.0/devices",
            "id,displayName,operatingSystem,operatingSystemVersion,trustType,isCompliant",
            "microsoft.graph.device",
        ),
        (
            "/v1.0/deviceManagement/managedDevices",
            "id,deviceName,operatingSystem,complianceState,lastSyncDateTime,userPrincipalName",
            "microsoft.graph.managedDevice",
        ),
    ],
)
def test_an_empty_collection_is_an_empty_value_and_select_is_checked_against_the_entity_type(
    app, path, fields, entity_type
):
    """https://learn.microsoft.com/graph/query-parameters#select: $select names properties of
    the entity type (https://learn.microsoft.com/graph/api/resources/device,
    https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice); a tenant
    without devices answers `{"value": []}`, not a 400 for properties no item happens to show."""
    response = app.get(f"{path}?$select={fields}")
    assert response.status_code == 200, response.text
    assert response.json()["value"] == []
    unknown = app.get(f"{path}?$select=id,noSuchProperty")
    assert unknown.status_code == 400
    assert graph_error(unknown)["message"] == (
        f"Could not find a property named 'noSuchProperty' on type '{entity_type}'."
    )


def _customer_without_devices(world: dict[str, Any], customers: dict[str, list]) -> Any:
    info = next(
        c
        for c in next(r for r in world["regions"] if r["slug"] == "us")["customers"]
        if c["relationship"]["status"] == "active" and not c.get("big")
    )
    assert info["devices"] == 0
    return next(c for c in customers["us"] if str(c.tenant_id) == info["tenant_id"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "empty"),
    [
        ("devices", "No devices."),
        ("managed-devices", "No managed devices."),
        ("compliance", "No devices."),
    ],
)
def test_a_customer_without_devices_gets_empty_device_pages_not_a_502(
    sign_in, world, customers, page, empty
):
    """https://learn.microsoft.com/graph/api/device-list and
    https://learn.microsoft.com/graph/api/intune-devices-manageddevice-list: an empty tenant
    answers 200 with an empty `value`, so the portal says there is nothing, in a sentence."""
    customer = _customer_without_devices(world, customers)
    response = sign_in(AGENT).get(f"/customers/{customer.tenant_id}/{page}/")
    assert response.status_code == 200, response.content[:500]
    assert empty in response.content.decode()


# ----- @odata.count ---------------------------------------------------------------------
def test_odata_count_is_on_the_first_page_only(app):
    """https://learn.microsoft.com/graph/paging: the next page is fetched with the whole
    @odata.nextLink; the count is the first page's (Graph leaves it out of the pages after)."""
    first = app.get("/v1.0/users?$top=5&$count=true", headers=EVENTUAL).json()
    assert first["@odata.count"] == app.customer()["users"]
    second = app.get(first["@odata.nextLink"], headers=EVENTUAL).json()
    assert "@odata.count" not in second and second["value"]


# ----- $expand ----------------------------------------------------------------------------
def test_expand_members_on_groups_gives_each_group_its_members(app):
    """https://learn.microsoft.com/graph/query-parameters#expand: `groups?$expand=members`
    returns each group with its members (directory objects, at most 20 per group)."""
    body = app.get("/v1.0/groups?$expand=members&$select=id,displayName").json()
    assert body["value"]
    for group in body["value"]:
        assert set(group) == {"id", "displayName", "members"}
        members = app.get(f"/v1.0/groups/{group['id']}/members?$top=999").json()["value"]
        assert [m["id"] for m in group["members"]] == [m["id"] for m in members][:20]
    one = body["value"][0]
    single = app.get(f"/v1.0/groups/{one['id']}?$expand=members").json()
    assert [m["id"] for m in single["members"]] == [m["id"] for m in one["members"]]
    refused = app.get("/v1.0/groups?$expand=noSuchNavigation")
    assert refused.status_code == 400


# ----- options without `$` ----------------------------------------------------------------
def test_options_without_the_dollar_are_honoured_on_beta_and_ignored_on_v1(app):
    """https://learn.microsoft.com/graph/query-parameters: "On the beta endpoint, the $
    prefix is optional"; on v1.0 an option without it is not an option."""
    beta = app.get("/beta/users?select=displayName&top=2").json()
    assert len(beta["value"]) == 2
    assert all(set(u) == {"displayName"} for u in beta["value"])
    v1 = app.get("/v1.0/users?select=displayName&top=2").json()
    assert len(v1["value"]) == app.customer()["users"]  # the default page: top ignored
    assert "userPrincipalName" in v1["value"][0]  # the default properties: select ignored


# ----- $batch -----------------------------------------------------------------------------
def test_batch_request_ids_that_differ_only_in_case_are_duplicates(app):
    """https://learn.microsoft.com/graph/json-batching: each request's `id` must be unique
    in the batch; Graph compares ids without regard to case."""
    response = app.post(
        "/v1.0/$batch",
        {
            "requests": [
                {"id": "Users", "method": "GET", "url": "/users?$top=1"},
                {"id": "users", "method": "GET", "url": "/groups?$top=1"},
            ]
        },
    )
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == "BadRequest"
    assert re.search(r"duplicated", error["message"])
