"""Graph's response headers: the front end's diagnostic, HSTS, resource units, throttling.

Each test names the page of Microsoft's documentation it follows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.fidelity.graph_client import GraphApp
from tests.simharness import Simulator


@pytest.fixture
def app(sim: Simulator) -> Iterator[GraphApp]:
    client = GraphApp(sim)
    yield client
    client.session.close()
    sim.reset()  # the per-tenant throttle goes with the seed


@pytest.mark.parametrize(
    "path",
    ["/v1.0/organization", "/v1.0/users/no-such-user", "/v1.0/deviceManagement/managedDevices"],
)
def test_every_graph_answer_names_its_front_end_and_asks_for_https(app, path):
    """https://learn.microsoft.com/graph/best-practices-concept (include the request-id and
    the x-ms-ags-diagnostic header when reporting a problem): Graph sends the diagnostic
    `{"ServerInfo": {...}}` and Strict-Transport-Security on success and error alike."""
    response = app.get(path)
    diagnostic = json.loads(response.headers["x-ms-ags-diagnostic"])
    assert {"DataCenter", "Slice", "Ring", "ScaleUnit", "RoleInstance"} <= set(
        diagnostic["ServerInfo"]
    )
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize(
    ("path", "units"),
    [
        ("/v1.0/users", 2),  # users: base cost 2
        ("/v1.0/users?$select=id", 1),  # $select: one less
        ("/v1.0/users?$select=id&$top=5", 1),  # never below 1
        ("/v1.0/organization", 1),  # any other identity path: 1
        ("/v1.0/groups?$expand=members", 2),  # $expand: one more
    ],
)
def test_directory_answers_carry_their_resource_unit_cost(app, path, units):
    """https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits:
    x-ms-resource-unit is the request's cost from the table (users 2, any other path 1),
    $select -1, $expand +1, $top under 20 -1, never below 1."""
    response = app.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["x-ms-resource-unit"] == str(units)


def test_group_members_cost_three_resource_units_and_intune_none(app):
    """https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits:
    `groups/{id}/members` costs 3; Intune is another service with no resource units."""
    group = app.get("/v1.0/groups?$top=1").json()["value"][0]
    members = app.get(f"/v1.0/groups/{group['id']}/members")
    assert members.headers["x-ms-resource-unit"] == "3"
    intune = app.get("/v1.0/deviceManagement/managedDevices")
    assert intune.status_code == 200
    assert "x-ms-resource-unit" not in intune.headers


def test_a_throttled_directory_answer_names_the_scope_and_the_reason(app, sim):
    """https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits:
    a throttled identity response carries x-ms-throttle-scope
    `<Scope>/<Limit>/<ApplicationId>/<TenantId>` and x-ms-throttle-information, beside the
    Retry-After of https://learn.microsoft.com/graph/throttling."""
    tenant = app.customer()["tenant_id"]
    app.token(tenant)  # the token first: the token endpoint is not throttled by Graph
    sim.faults(throttle={"limit": 1, "window": 60}, tenant=tenant)
    assert app.get("/v1.0/users?$top=1").status_code == 200
    throttled = app.get("/v1.0/users?$top=1")
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    client_id = app.us["app"]["client_id"]
    assert throttled.headers["x-ms-throttle-scope"] == (
        f"Tenant_Application/ReadWrite/{client_id}/{tenant}"
    )
    assert throttled.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"
