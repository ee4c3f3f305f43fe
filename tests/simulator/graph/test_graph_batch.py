"""JSON batching: inner requests, dependsOn and 424, limits, per-item throttling, logging."""

from __future__ import annotations

import pytest

from .conftest import SimClient, graph_error


@pytest.fixture
def tenant(cloud: SimClient) -> str:
    return cloud.customer()["tenant_id"]


def batch(cloud: SimClient, token: str, requests: list[dict]):
    return cloud.post("/v1.0/$batch", token, {"requests": requests})


def by_id(response) -> dict[str, dict]:
    return {item["id"]: item for item in response.json()["responses"]}


def test_a_batch_answers_each_request_with_id_status_headers_and_body(cloud, tenant):
    token = cloud.token(tenant)
    response = batch(
        cloud,
        token,
        [
            {"id": "1", "method": "GET", "url": "/users?$top=2&$select=id"},
            {"id": "2", "method": "GET", "url": "organization"},
            {"id": "3", "method": "GET", "url": "/deviceManagement/managedDeviceOverview"},
        ],
    )
    assert response.status_code == 200
    items = by_id(response)
    assert {i: r["status"] for i, r in items.items()} == {"1": 200, "2": 200, "3": 200}
    assert all(set(r) == {"id", "status", "headers", "body"} for r in items.values())
    users = items["1"]["body"]
    assert len(users["value"]) == 2 and users["@odata.nextLink"].startswith(cloud.graph)
    assert items["2"]["body"]["value"][0]["id"] == tenant


def test_a_failed_dependency_answers_424_and_later_ones_still_run(cloud, tenant):
    token = cloud.token(tenant)
    items = by_id(
        batch(
            cloud,
            token,
            [
                {"id": "a", "method": "GET", "url": "/users/nobody@example.com"},
                {"id": "b", "method": "GET", "url": "/organization", "dependsOn": ["a"]},
                {"id": "c", "method": "GET", "url": "/organization"},
            ],
        )
    )
    assert [items[i]["status"] for i in "abc"] == [404, 424, 200]
    assert items["b"]["body"]["error"]["code"] == "FailedDependency"


def test_duplicate_ids_make_the_whole_batch_a_bad_request(cloud, tenant):
    request = {"id": "1", "method": "GET", "url": "/organization"}
    response = batch(cloud, cloud.token(tenant), [request, dict(request)])
    assert response.status_code == 400
    assert graph_error(response)["code"] == "BadRequest"


def test_more_than_twenty_requests_are_refused(cloud, tenant):
    requests = [{"id": str(i), "method": "GET", "url": "/organization"} for i in range(21)]
    assert batch(cloud, cloud.token(tenant), requests).status_code == 400


def test_a_batch_with_a_bad_token_is_unauthorized_as_a_whole(cloud):
    response = batch(cloud, "not-a-token", [{"id": "1", "method": "GET", "url": "/users"}])
    assert response.status_code == 401


def test_each_request_in_a_batch_is_throttled_on_its_own(cloud, tenant):
    cloud.sim.faults(throttle={"limit": 2, "window": 30}, tenant=tenant)
    token = cloud.token(tenant)
    requests = [{"id": str(i), "method": "GET", "url": "/organization"} for i in range(4)]
    response = batch(cloud, token, requests)
    assert response.status_code == 200
    items = by_id(response)
    assert sorted(r["status"] for r in items.values()) == [200, 200, 429, 429]
    throttled = next(r for r in items.values() if r["status"] == 429)
    assert int(throttled["headers"]["Retry-After"]) >= 1
    assert throttled["body"]["error"]["code"] == "TooManyRequests"


def test_a_batch_is_logged_as_one_graph_request(cloud, tenant):
    token = cloud.token(tenant)
    before = cloud.sim.requests()["counters"]["graph"]
    requests = [{"id": str(i), "method": "GET", "url": "/organization"} for i in range(5)]
    assert batch(cloud, token, requests).status_code == 200
    log = cloud.sim.requests()
    assert log["counters"]["graph"] == before + 1
    last = log["requests"][-1]
    assert (last["path"], last["tenant"], last["kind"]) == ("/graph/v1.0/$batch", tenant, "graph")


def test_a_batch_log_entry_lists_its_inner_requests_with_status_and_time(cloud, tenant):
    token = cloud.token(tenant)
    requests = [
        {"id": "a", "method": "GET", "url": "/organization?$select=id"},
        {"id": "b", "method": "GET", "url": "/users/nobody@example.com"},
    ]
    assert batch(cloud, token, requests).status_code == 200
    last = cloud.sim.requests()["requests"][-1]
    assert [(i["id"], i["method"], i["path"], i["status"]) for i in last["items"]] == [
        ("a", "GET", "/organization", 200),
        ("b", "GET", "/users/nobody@example.com", 404),
    ]
    assert all(isinstance(i["at"], float) for i in last["items"])
