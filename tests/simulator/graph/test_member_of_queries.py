"""Queries on a user's direct memberships, as Graph answers them: an OData cast on memberOf is
served without `ConsistencyLevel: eventual` (only a cast on transitiveMemberOf is an advanced
query), `$search` needs the header, `$count=true` without it is silently ignored.

# Reference: https://learn.microsoft.com/graph/aad-advanced-queries ("Query scenarios that
#   require advanced query capabilities": "Use of OData cast with transitive members list",
#   `~/me/transitiveMemberOf/microsoft.graph.group?$count=true`; "$search works only in
#   advanced queries"; "silently ignores the $count query parameter")
# Reference: https://learn.microsoft.com/graph/api/user-list-memberof
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.config import SeedConfig
from simulator.context import SimContext
from simulator.signing import SigningKeys
from simulator.world import Tenant
from tests.simulator.graph.test_writes import AGENT, Graph

EVENTUAL = {"ConsistencyLevel": "eventual"}
SCOPES = ("User.Read", "Directory.Read.All")
# Graph's words, as the advanced-queries page quotes them.
SEARCH_NEEDS_HEADER = (
    "Request with $search query parameter only works through MSGraph with a special request "
    "header: 'ConsistencyLevel: eventual'"
)


@pytest.fixture(scope="module")
def keys() -> SigningKeys:
    return SigningKeys.generate()


@pytest.fixture
def graph(keys: SigningKeys) -> Graph:
    return Graph(SimContext(config=SeedConfig(), signing=keys))


def _partner(graph: Graph) -> Tenant:
    return graph.ctx.world.tenants[graph.us.partner_tenant_id]


def _get(graph: Graph, path: str, token: str, headers: dict[str, str] | None = None) -> Any:
    return graph.client.get(
        f"/graph/{path}", headers={"Authorization": f"Bearer {token}", **(headers or {})}
    )


def test_the_agents_groups_cast_to_groups_need_no_consistency_level(graph):
    token = graph.delegated(_partner(graph), AGENT, SCOPES)
    plain = _get(graph, "v1.0/me/memberOf", token).get_json()
    cast = _get(graph, "v1.0/me/memberOf/microsoft.graph.group", token)
    assert cast.status_code == 200, cast.get_data(as_text=True)
    body = cast.get_json()
    assert body["@odata.context"].endswith("$metadata#groups")
    assert {g["id"] for g in body["value"]} == {g["id"] for g in plain["value"]}
    assert all(g["@odata.type"] == "#microsoft.graph.group" for g in body["value"])


def test_a_cast_on_a_customer_users_direct_memberships_needs_no_consistency_level(graph):
    tenant = graph.customer(AGENT, has="Directory Readers")
    token = graph.app_only(tenant, ("Directory.Read.All",))
    user = graph.first_user(tenant)
    answer = _get(graph, f"v1.0/users/{user['id']}/memberOf/microsoft.graph.group", token)
    assert answer.status_code == 200, answer.get_data(as_text=True)


@pytest.mark.parametrize("path", ["v1.0/me/memberOf", "v1.0/me/memberOf/microsoft.graph.group"])
def test_search_on_memberships_without_the_header_is_graphs_400(graph, path):
    token = graph.delegated(_partner(graph), AGENT, SCOPES)
    query = f'{path}?$search="displayName:a"'
    refused = _get(graph, query, token)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "Request_UnsupportedQuery"
    assert refused.get_json()["error"]["message"] == SEARCH_NEEDS_HEADER
    assert _get(graph, query, token, EVENTUAL).status_code == 200


def test_count_on_memberships_without_the_header_is_silently_ignored(graph):
    token = graph.delegated(_partner(graph), AGENT, SCOPES)
    path = "v1.0/me/memberOf/microsoft.graph.group?$count=true"
    ignored = _get(graph, path, token)
    assert ignored.status_code == 200 and "@odata.count" not in ignored.get_json()
    counted = _get(graph, path, token, EVENTUAL).get_json()
    assert counted["@odata.count"] == len(counted["value"])
