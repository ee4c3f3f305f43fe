"""Graph's advanced queries on directory objects: the simulator refuses what Graph refuses.

A failure here reads "the simulator drifted from Microsoft": each test names the page of
Microsoft's documentation it follows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fidelity.graph_client import EVENTUAL, GraphApp, graph_error
from tests.simharness import Simulator

ADVANCED = "https://learn.microsoft.com/graph/aad-advanced-queries"
DOCS_LINK = "Refer to https://aka.ms/graph-docs/advanced-queries for more information"


@pytest.fixture
def app(sim: Simulator) -> Iterator[GraphApp]:
    client = GraphApp(sim)
    yield client
    client.session.close()


@pytest.mark.parametrize(
    ("operator", "clause"),
    [
        ("ne", "accountEnabled ne true"),
        ("not", "not(startswith(displayName,'a'))"),
        ("endsWith", "endswith(mail,'.com')"),
    ],
)
def test_ne_not_and_endswith_with_the_header_but_without_count_are_refused(app, operator, clause):
    """https://learn.microsoft.com/graph/aad-advanced-queries: these operators need the
    ConsistencyLevel header *and* $count=true ("the advanced query parameters")."""
    response = app.get(f"/v1.0/users?$filter={clause}", headers=EVENTUAL)
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == "Request_UnsupportedQuery"
    assert error["message"] == (
        f"Operator '{operator}' is not supported because the required parameters might be "
        "missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. "
        f"{DOCS_LINK}"
    )
    served = app.get(f"/v1.0/users?$filter={clause}&$count=true", headers=EVENTUAL)
    assert served.status_code == 200, served.text
    assert "@odata.count" in served.json()


def test_endswith_without_the_header_says_the_header_is_missing(app):
    """https://learn.microsoft.com/graph/aad-advanced-queries: without
    `ConsistencyLevel: eventual` an advanced operator is refused, whatever $count says."""
    response = app.get("/v1.0/users?$filter=endswith(mail,'.com')&$count=true")
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == "Request_UnsupportedQuery"
    assert error["message"] == (
        "Operator 'endsWith' is not supported because the 'ConsistencyLevel:eventual' header "
        f"is missing. {DOCS_LINK}"
    )


def test_filter_and_orderby_together_need_advanced_mode(app):
    """https://learn.microsoft.com/graph/aad-advanced-queries ("Use of $filter and $orderby
    in the same query" is listed among the queries served in advanced mode only)."""
    query = "/v1.0/users?$filter=startswith(displayName,'a')&$orderby=displayName"
    for headers in ({}, EVENTUAL):
        response = app.get(query, headers=headers)
        assert response.status_code == 400, headers
        error = graph_error(response)
        assert error["code"] == "Request_UnsupportedQuery"
        assert error["message"] == "Sorting not supported for current query."
    served = app.get(query + "&$count=true", headers=EVENTUAL)
    assert served.status_code == 200, served.text
    names = [u["displayName"].casefold() for u in served.json()["value"]]
    assert names == sorted(names)


def test_orderby_on_another_property_than_display_name_needs_advanced_mode(app):
    """https://learn.microsoft.com/graph/aad-advanced-queries ("Use of $orderby on select
    properties"): users sort by displayName and userPrincipalName by default, by anything
    else only with ConsistencyLevel and $count=true."""
    for prop in ("displayName", "userPrincipalName"):
        assert app.get(f"/v1.0/users?$orderby={prop}").status_code == 200, prop
    refused = app.get("/v1.0/users?$orderby=createdDateTime")
    assert refused.status_code == 400
    assert graph_error(refused)["code"] == "Request_UnsupportedQuery"
    assert graph_error(refused)["message"] == "Sorting not supported for current query."
    served = app.get("/v1.0/users?$orderby=createdDateTime&$count=true", headers=EVENTUAL)
    assert served.status_code == 200, served.text


@pytest.mark.parametrize("top", ["0", "1000"])
def test_top_out_of_range_on_users_is_an_unsupported_query(app, top):
    """https://learn.microsoft.com/graph/paging: /users pages hold 1 to 999 objects; Graph
    answers a $top outside that with Request_UnsupportedQuery."""
    response = app.get(f"/v1.0/users?$top={top}")
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == "Request_UnsupportedQuery"
    assert error["message"] == (
        f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
    )


def test_the_count_segment_without_the_header_has_graphs_message(app):
    """https://learn.microsoft.com/graph/aad-advanced-queries ("Error handling for advanced
    queries on directory objects"): `/users/$count` without ConsistencyLevel is a 400
    Request_BadRequest "$count is not currently supported."."""
    response = app.get("/v1.0/users/$count")
    assert response.status_code == 400
    error = graph_error(response)
    assert (error["code"], error["message"]) == (
        "Request_BadRequest",
        "$count is not currently supported.",
    )
    counted = app.get("/v1.0/users/$count", headers=EVENTUAL)
    assert counted.status_code == 200 and int(counted.text) == app.customer()["users"]


def test_search_without_the_header_has_graphs_message(app):
    """https://learn.microsoft.com/graph/aad-advanced-queries: "For directory objects,
    $search works only in advanced queries" (the header; $count is not needed)."""
    response = app.get('/v1.0/users?$search="displayName:a"')
    assert response.status_code == 400
    assert graph_error(response)["message"] == (
        "Request with $search query parameter only works through MSGraph with a special "
        "request header: 'ConsistencyLevel: eventual'"
    )
    assert app.get('/v1.0/users?$search="displayName:a"', headers=EVENTUAL).status_code == 200
