"""Graph's global limit, always on: any request, per app across all tenants; over it Graph's
429 with Retry-After. Microsoft's number (130,000 per 10 seconds) is lowered here through
the `global_limit` fault so that a test can reach it.

# Reference: https://learn.microsoft.com/graph/throttling-limits ("Global limits that apply to
#   all services": any request, per app across all tenants, 130,000 requests per 10 seconds;
#   "The first limit to be reached triggers throttling behavior")
# Reference: https://learn.microsoft.com/graph/throttling (429, Retry-After)
"""

from __future__ import annotations

import uuid

import pytest

from simulator.config import SeedConfig
from simulator.context import SimContext
from simulator.faults import GRAPH_GLOBAL_LIMIT
from simulator.signing import SigningKeys
from simulator.world import Tenant
from tests.simulator.graph.test_intune_write_limits import as_app, set_faults
from tests.simulator.graph.test_writes import AGENT, Graph, error


@pytest.fixture(scope="module")
def keys() -> SigningKeys:
    return SigningKeys.generate()


@pytest.fixture
def graph(keys: SigningKeys) -> Graph:
    return Graph(SimContext(config=SeedConfig(), signing=keys))


def _two_customers(graph: Graph) -> tuple[Tenant, Tenant]:
    first = graph.customer(AGENT, has="Directory Readers")
    second = next(
        t
        for t in graph.ctx.world.customers_of(graph.us.partner_tenant_id)
        if t.id != first.id and t.relationship_type == first.relationship_type
    )
    return first, second


def _users(graph: Graph, tenant: Tenant, token: str):
    return graph.call("GET", "v1.0/users?$top=1&$select=id", token)


def test_microsofts_global_limit_is_on_without_any_fault(graph):
    assert graph.ctx.faults.global_limit() == {"limit": 130_000, "window": 10.0}
    assert GRAPH_GLOBAL_LIMIT == {"limit": 130_000, "window": 10.0}
    assert graph.client.get("/_sim/faults").get_json()["global"]["global_limit"] is None


def test_the_global_limit_counts_one_apps_requests_across_tenants(graph):
    """Three requests in one tenant and two in another fill a limit of five: the sixth is a
    429 in either tenant, though neither tenant alone came near it."""
    assert set_faults(graph, {"global_limit": {"limit": 5, "window": 30}}).status_code == 200
    first, second = _two_customers(graph)
    app = str(uuid.uuid4())
    token_first, token_second = as_app(graph, first, app), as_app(graph, second, app)
    for tenant, token in ((first, token_first),) * 3 + ((second, token_second),) * 2:
        response = _users(graph, tenant, token)
        assert response.status_code == 200, response.get_data(as_text=True)

    for tenant, token in ((first, token_first), (second, token_second)):
        refused = _users(graph, tenant, token)
        assert refused.status_code == 429
        assert error(refused)["code"] == "TooManyRequests"
        assert 1 <= int(refused.headers["Retry-After"]) <= 30

    # Another app has a window of its own.
    other = as_app(graph, second, str(uuid.uuid4()))
    assert _users(graph, second, other).status_code == 200


def test_every_request_inside_a_batch_counts_against_the_global_limit(graph):
    assert set_faults(graph, {"global_limit": {"limit": 2, "window": 30}}).status_code == 200
    first, _ = _two_customers(graph)
    token = as_app(graph, first, str(uuid.uuid4()))
    body = {
        "requests": [
            {"id": str(i), "method": "GET", "url": "/users?$top=1&$select=id"} for i in range(3)
        ]
    }
    response = graph.call("POST", "v1.0/$batch", token, body)
    assert response.status_code == 200
    statuses = sorted(item["status"] for item in response.get_json()["responses"])
    assert statuses == [200, 200, 429]


def test_the_global_limit_has_no_per_tenant_value_and_null_restores_microsofts(graph):
    first, _ = _two_customers(graph)
    refused = set_faults(graph, {"tenant": first.id, "global_limit": {"limit": 1, "window": 1}})
    assert refused.status_code == 400
    assert "across all tenants" in refused.get_json()["error"]
    assert set_faults(graph, {"global_limit": {"limit": 0, "window": 1}}).status_code == 400
    assert set_faults(graph, {"global_limit": {"limit": 3, "window": 1}}).status_code == 200
    assert set_faults(graph, {"global_limit": None}).status_code == 200
    assert graph.ctx.faults.global_limit() == GRAPH_GLOBAL_LIMIT
