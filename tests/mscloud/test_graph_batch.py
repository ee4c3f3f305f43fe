from __future__ import annotations

import pytest

from mscloud.errors import GraphForbidden, GraphNotFound, GraphThrottled
from mscloud.graph import BatchRequest, BatchResponse

from .fakes import reply


def answer_all(status: int = 200, overrides: dict | None = None):
    """A $batch endpoint that answers each item `status`, or what `overrides[id]` says."""
    overrides = overrides or {}

    def handler(request):
        items = request.get_json()["requests"]
        responses = []
        for item in reversed(items):  # Graph answers in any order
            responses.append(
                overrides.get(item["id"])
                or {"id": item["id"], "status": status, "headers": {}, "body": {"id": item["id"]}}
            )
        return reply({"responses": responses})

    return handler


def throttled_item(item_id: str, retry_after: str | None = "3") -> dict:
    headers = {"Retry-After": retry_after} if retry_after else {}
    body = {"error": {"code": "TooManyRequests", "message": "Slow down."}}
    return {"id": item_id, "status": 429, "headers": headers, "body": body}


def test_batch_splits_21_requests_into_two_posts(graph, fake):
    fake.queue(answer_all(), answer_all())
    requests = [BatchRequest(id=str(i), url=f"/users/{i}") for i in range(21)]

    results = graph.batch(requests)

    assert sorted(results, key=int) == [str(i) for i in range(21)]
    assert all(r.ok and r.body == {"id": r.id} for r in results.values())
    assert [s.path for s in fake.seen] == ["/graph/v1.0/$batch"] * 2
    assert [len(s.body["requests"]) for s in fake.seen] == [20, 1]
    assert fake.seen[0].body["requests"][0] == {"id": "0", "method": "GET", "url": "/users/0"}


def test_batch_retries_items_throttled_inside_a_200_batch(graph, fake, sleeps):
    fake.queue(
        answer_all(overrides={"b": throttled_item("b", "4"), "c": throttled_item("c", "2")}),
        answer_all(),
    )
    requests = [BatchRequest(id=i, url=f"/users/{i}") for i in "abc"]

    results = graph.batch(requests)

    assert all(r.status == 200 for r in results.values())
    assert sleeps.delays == [4.0]  # the longest Retry-After among the throttled items
    assert [r["id"] for r in fake.seen[1].body["requests"]] == ["b", "c"]


def test_batch_resends_items_that_failed_only_because_their_dependency_was_throttled(graph, fake):
    failed_dependency = {"id": "b", "status": 424, "headers": {}, "body": None}
    fake.queue(
        answer_all(overrides={"a": throttled_item("a"), "b": failed_dependency}),
        answer_all(),
    )
    requests = [
        BatchRequest(id="a", url="/users/a"),
        BatchRequest(id="b", url="/users/b/manager", depends_on=["a"]),
        BatchRequest(id="c", url="/users/c", depends_on=["a"]),
    ]

    results = graph.batch(requests)

    assert {i: r.status for i, r in results.items()} == {"a": 200, "b": 200, "c": 200}
    resent = fake.seen[1].body["requests"]
    assert [(r["id"], r.get("dependsOn")) for r in resent] == [("a", None), ("b", ["a"])]


def test_batch_items_still_throttled_after_the_budget_raise_graph_throttled(graph, fake, sleeps):
    fake.queue(*[answer_all(overrides={"a": throttled_item("a", None)}) for _ in range(4)])

    results = graph.batch([BatchRequest(id="a", url="/users/a"), BatchRequest(id="b", url="/me")])

    assert len(fake.seen) == 4 and len(sleeps.delays) == 3
    assert results["b"].ok
    with pytest.raises(GraphThrottled, match="Slow down"):
        results["a"].raise_for_status()


def test_batch_gives_up_at_once_on_items_asking_to_wait_beyond_the_cap(graph, fake, sleeps):
    fake.queue(answer_all(overrides={"a": throttled_item("a", "90")}))

    results = graph.batch([BatchRequest(id="a", url="/users/a")])

    assert sleeps.delays == [] and len(fake.seen) == 1
    with pytest.raises(GraphThrottled) as caught:
        results["a"].raise_for_status()
    assert caught.value.retry_after == 90


def test_batch_response_raise_for_status_raises_typed_errors_from_the_item_body():
    body = {"error": {"code": "Request_ResourceNotFound", "message": "No such user."}}
    missing = BatchResponse(id="1", status=404, headers={"request-id": "r-9"}, body=body)
    denied = BatchResponse(id="2", status=403, body={"error": {"code": "Authorization_Denied"}})

    with pytest.raises(GraphNotFound) as caught:
        missing.raise_for_status()
    assert (caught.value.code, caught.value.message) == (
        "Request_ResourceNotFound",
        "No such user.",
    )
    assert caught.value.request_id == "r-9"
    with pytest.raises(GraphForbidden):
        denied.raise_for_status()
    BatchResponse(id="3", status=204).raise_for_status()


def test_batch_sends_bodies_headers_and_dependencies(graph, fake):
    fake.queue(answer_all(status=204))

    graph.batch(
        [
            BatchRequest(id="1", url="/groups", method="post", body={"displayName": "G"}),
            BatchRequest(
                id="2",
                url="/users?$count=true",
                headers={"ConsistencyLevel": "eventual"},
                depends_on=["1"],
            ),
        ]
    )

    assert fake.seen[0].body["requests"] == [
        {
            "id": "1",
            "method": "POST",
            "url": "/groups",
            "body": {"displayName": "G"},
            "headers": {"Content-Type": "application/json"},
        },
        {
            "id": "2",
            "method": "GET",
            "url": "/users?$count=true",
            "headers": {"ConsistencyLevel": "eventual"},
            "dependsOn": ["1"],
        },
    ]


def test_batch_rejects_duplicate_ids_and_dependencies_across_chunks(graph):
    with pytest.raises(ValueError, match="unique"):
        graph.batch([BatchRequest(id="1", url="/me"), BatchRequest(id="1", url="/me")])
    far = [BatchRequest(id=str(i), url="/me") for i in range(20)]
    with pytest.raises(ValueError, match="outside its chunk"):
        graph.batch([*far, BatchRequest(id="x", url="/me", depends_on=["0"])])
