from __future__ import annotations

import pytest

from mscloud.errors import GraphError
from mscloud.graph import GraphClient

from .fakes import FakeMicrosoft, reply


def users(*names: str) -> list[dict]:
    return [{"id": n, "displayName": n} for n in names]


def test_iter_items_follows_next_links_to_the_last_page(graph: GraphClient, fake: FakeMicrosoft):
    next_1 = f"{fake.url}/graph/v1.0/users?$top=2&$skiptoken=p2"
    next_2 = f"{fake.url}/graph/v1.0/users?$top=2&$skiptoken=p3"
    fake.queue(
        reply({"value": users("a", "b"), "@odata.nextLink": next_1}),
        reply({"value": users("c", "d"), "@odata.nextLink": next_2}),
        reply({"value": users("e")}),
    )

    items = list(graph.iter_items("/users", params={"$top": 2}))

    assert [u["id"] for u in items] == ["a", "b", "c", "d", "e"]
    assert [s.args.get("$skiptoken") for s in fake.seen] == [None, ["p2"], ["p3"]]
    assert all(s.path == "/graph/v1.0/users" for s in fake.seen)


def test_iter_items_resends_consistency_level_on_every_page(graph, fake):
    next_link = f"{fake.url}/graph/v1.0/users?$search=%22displayName:jo%22&$skiptoken=p2"
    fake.queue(reply({"value": users("a"), "@odata.nextLink": next_link}), reply({"value": []}))

    list(graph.iter_items("/users", params={"$search": '"displayName:jo"'}, eventual=True))

    assert [s.headers.get("Consistencylevel") for s in fake.seen] == ["eventual", "eventual"]
    assert fake.seen[0].args["$search"] == ['"displayName:jo"']


def test_iter_items_stops_at_max_items_without_fetching_more_pages(graph, fake):
    fake.queue(reply({"value": users("a", "b", "c"), "@odata.nextLink": f"{fake.url}/x"}))

    assert [u["id"] for u in graph.iter_items("/users", max_items=2)] == ["a", "b"]
    assert len(fake.seen) == 1


@pytest.mark.parametrize(
    "next_link",
    [
        "https://evil.example/graph/v1.0/users?$skiptoken=p2",
        "http://127.0.0.1.evil.example/graph/v1.0/users?$skiptoken=p2",
        "{origin}@evil.example/graph/v1.0/users?$skiptoken=p2",
        "http://127.0.0.1:1/graph/v1.0/users?$skiptoken=p2",
        "{origin}/other/v1.0/users?$skiptoken=p2",
        "{origin}/graph/beta/users?$skiptoken=p2",
        "//evil.example/graph/v1.0/users?$skiptoken=p2",
    ],
)
def test_it_refuses_to_follow_a_next_link_to_a_foreign_host(graph, fake, next_link):
    fake.queue(reply({"value": users("a"), "@odata.nextLink": next_link.format(origin=fake.url)}))

    with pytest.raises(GraphError, match="outside Microsoft Graph"):
        list(graph.iter_items("/users"))

    assert len(fake.seen) == 1  # the token never went anywhere else


def test_iter_items_refuses_a_next_link_that_repeats_itself(graph, fake):
    loop = f"{fake.url}/graph/v1.0/users?$skiptoken=same"
    fake.queue(
        reply({"value": users("a"), "@odata.nextLink": loop}),
        reply({"value": users("b"), "@odata.nextLink": loop}),
    )

    with pytest.raises(GraphError, match="same page link twice"):
        list(graph.iter_items("/users"))


def test_get_page_returns_items_count_and_the_next_skiptoken(graph, fake):
    next_link = f"{fake.url}/graph/v1.0/users?$count=true&$top=2&$skiptoken=X%2BY%3D"
    fake.queue(reply({"value": users("a", "b"), "@odata.count": 5, "@odata.nextLink": next_link}))

    page = graph.get_page("/users", params={"$count": "true", "$top": 2}, eventual=True)

    assert [u["id"] for u in page.items] == ["a", "b"]
    assert page.count == 5
    assert page.next_skiptoken == "X+Y="
    assert fake.seen[0].headers["Consistencylevel"] == "eventual"


def test_get_page_builds_the_next_page_url_from_path_params_and_skiptoken(graph, fake):
    fake.queue(reply({"value": users("c")}))

    page = graph.get_page(
        "/users",
        params={"$select": "id,displayName", "$filter": "startswith(displayName,'J')"},
        skiptoken="X+Y=",
    )

    assert page.next_skiptoken is None
    seen = fake.seen[0]
    assert seen.args == {
        "$select": ["id,displayName"],
        "$filter": ["startswith(displayName,'J')"],
        "$skiptoken": ["X+Y="],
    }
    assert "$select=id,displayName" in seen.query  # OData options stay readable on the wire


def test_skiptoken_from_next_link_extracts_the_token(graph, fake):
    link = f"{fake.url}/graph/v1.0/groups?%24top=5&%24skiptoken=RFNwdAIAAQAAAA"

    assert graph.skiptoken_from_next_link(link) == "RFNwdAIAAQAAAA"


@pytest.mark.parametrize(
    ("link", "problem"),
    [
        ("https://graph.evil.example/graph/v1.0/users?$skiptoken=a", "outside Microsoft Graph"),
        ("{origin}/graph/v1.0/users?$top=5", "no \\$skiptoken"),
        ("{origin}/graph/v1.0/users?$skiptoken=", "no \\$skiptoken"),
        ("{origin}/graph/v1.0/users?$skiptoken=a&$skiptoken=b", "no \\$skiptoken"),
        ("{origin}/graphx/v1.0/users?$skiptoken=a", "outside Microsoft Graph"),
        ("ftp://127.0.0.1/graph/v1.0/users?$skiptoken=a", "outside Microsoft Graph"),
        ("http://[::1/graph", "malformed"),
    ],
)
def test_skiptoken_from_next_link_validates_host_base_path_and_token(graph, fake, link, problem):
    with pytest.raises(GraphError, match=problem):
        graph.skiptoken_from_next_link(link.format(origin=fake.url))


def test_a_caller_cannot_smuggle_an_absolute_url_in_as_a_path(graph):
    for path in ("https://evil.example/users", "//evil.example/users", "/users?$top=1"):
        with pytest.raises(ValueError, match="Graph path"):
            graph.get(path)
