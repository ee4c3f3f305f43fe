"""Graph collections over HTTPS: paging, $select, $filter, $search, $count, $orderby."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import BIG_TENANT_USERS, SimClient, graph_error

EVENTUAL = {"ConsistencyLevel": "eventual"}


@pytest.fixture
def customer_token(cloud: SimClient) -> str:
    return cloud.token(cloud.customer()["tenant_id"])


def test_paging_users_to_the_end_returns_every_user_once(cloud, customer_token):
    customer = cloud.customer()
    url, ids, pages = "/v1.0/users?$top=7", [], 0
    while url:
        body = cloud.get(url, customer_token).json()
        ids += [u["id"] for u in body["value"]]
        url, pages = body.get("@odata.nextLink"), pages + 1
    assert len(ids) == len(set(ids)) == customer["users"]
    assert pages == -(-customer["users"] // 7)  # the last page carries no nextLink


def test_next_link_carries_the_original_parameters_and_a_skiptoken(cloud, customer_token):
    body = cloud.get(
        "/beta/users?$top=3&$select=displayName,mail&$orderby=displayName", customer_token
    ).json()
    link = urlsplit(body["@odata.nextLink"])
    assert f"{link.scheme}://{link.netloc}{link.path}" == f"{cloud.graph}/beta/users"
    params = parse_qs(link.query)
    assert params["$top"] == ["3"] and params["$select"] == ["displayName,mail"]
    assert params["$orderby"] == ["displayName"] and params["$skiptoken"][0]
    assert body["@odata.context"] == f"{cloud.graph}/beta/$metadata#users(displayName,mail)"


def test_a_tampered_skiptoken_is_a_bad_request(cloud, customer_token):
    link = cloud.get("/v1.0/users?$top=2", customer_token).json()["@odata.nextLink"]
    response = cloud.get(link[:-3] + "zzz", customer_token)
    assert response.status_code == 400
    assert graph_error(response)["code"] == "Request_BadRequest"


def test_default_user_properties_without_select(cloud, customer_token):
    user = cloud.get("/v1.0/users?$top=1", customer_token).json()["value"][0]
    assert set(user) == {
        "businessPhones",
        "displayName",
        "givenName",
        "id",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
    }


def test_select_returns_only_the_selected_properties(cloud, customer_token):
    users = cloud.get("/v1.0/users?$select=id,accountEnabled", customer_token).json()["value"]
    assert users and all(set(u) == {"id", "accountEnabled"} for u in users)


def test_skip_and_oversized_top_are_refused_on_users(cloud, customer_token):
    for query, code in (
        ("$skip=5", "Request_BadRequest"),
        ("$top=1000", "Request_UnsupportedQuery"),
    ):
        response = cloud.get(f"/v1.0/users?{query}", customer_token)
        assert response.status_code == 400, query
        assert graph_error(response)["code"] == code


def test_filter_startswith_on_display_name(cloud, customer_token):
    users = cloud.get(
        "/v1.0/users?$filter=startswith(displayName,'a')&$top=999", customer_token
    ).json()["value"]
    assert users and all(u["displayName"].lower().startswith("a") for u in users)


def test_search_needs_the_consistency_level_header(cloud, customer_token):
    response = cloud.get('/v1.0/users?$search="displayName:jo"', customer_token)
    assert response.status_code == 400
    assert graph_error(response)["code"] == "Request_UnsupportedQuery"


def test_search_with_the_header_matches_word_prefixes_and_counts(cloud, customer_token):
    body = cloud.get(
        '/v1.0/users?$search="displayName:jo"&$count=true&$top=999', customer_token, EVENTUAL
    ).json()
    assert body["@odata.count"] == len(body["value"]) > 0
    for user in body["value"]:
        assert any(w.lower().startswith("jo") for w in user["displayName"].split())


def test_count_without_the_header_is_silently_ignored(cloud, customer_token):
    body = cloud.get("/v1.0/users?$count=true", customer_token).json()
    assert "@odata.count" not in body and body["value"]


def test_ne_and_endswith_need_the_header_and_count(cloud, customer_token):
    response = cloud.get("/v1.0/users?$filter=accountEnabled ne true", customer_token)
    assert graph_error(response)["code"] == "Request_UnsupportedQuery"
    body = cloud.get(
        "/v1.0/users?$filter=endswith(mail,'.onmicrosoft.com')&$count=true",
        customer_token,
        EVENTUAL,
    ).json()
    assert body["@odata.count"] == cloud.customer()["users"]


def test_orderby_display_name_sorts_the_users(cloud, customer_token):
    users = cloud.get("/v1.0/users?$orderby=displayName&$top=999", customer_token).json()
    names = [u["displayName"].lower() for u in users["value"]]
    assert names == sorted(names)


def test_a_user_is_found_by_id_and_by_user_principal_name(cloud, customer_token):
    first = cloud.get("/v1.0/users?$top=1", customer_token).json()["value"][0]
    by_id = cloud.get(f"/v1.0/users/{first['id']}", customer_token).json()
    by_upn = cloud.get(f"/v1.0/users/{first['userPrincipalName']}", customer_token).json()
    assert by_id["id"] == by_upn["id"] == first["id"]
    missing = cloud.get("/v1.0/users/nobody@example.com", customer_token)
    assert missing.status_code == 404
    assert graph_error(missing)["code"] == "Request_ResourceNotFound"


def test_managed_devices_filter_on_compliance_state_agrees_with_the_summary(cloud, customer_token):
    summary = cloud.get(
        "/v1.0/deviceManagement/deviceCompliancePolicyDeviceStateSummary", customer_token
    ).json()
    for state, key in (
        ("compliant", "compliantDeviceCount"),
        ("noncompliant", "nonCompliantDeviceCount"),
    ):
        devices = cloud.get(
            f"/v1.0/deviceManagement/managedDevices?$filter=complianceState eq '{state}'",
            customer_token,
        ).json()["value"]
        assert len(devices) == summary[key]
    overview = cloud.get("/v1.0/deviceManagement/managedDeviceOverview", customer_token).json()
    assert overview["enrolledDeviceCount"] == cloud.customer()["devices"]
    assert (
        overview["mdmEnrolledCount"] + overview["dualEnrolledDeviceCount"]
        == overview["enrolledDeviceCount"]
    )
    per_os = overview["deviceOperatingSystemSummary"]
    for os_name, key in (("Windows", "windowsCount"), ("iOS", "iosCount"),
                         ("Android", "androidCount"), ("macOS", "macOSCount")):  # fmt: skip
        devices = cloud.get(
            f"/v1.0/deviceManagement/managedDevices?$filter=operatingSystem eq '{os_name}'"
            "&$top=1000",
            customer_token,
        ).json()["value"]
        assert len(devices) == per_os[key], os_name


def test_managed_devices_filter_on_operating_system_with_select(cloud, customer_token):
    devices = cloud.get(
        "/v1.0/deviceManagement/managedDevices?$filter=operatingSystem eq 'Windows'"
        "&$select=deviceName,operatingSystem",
        customer_token,
    ).json()["value"]
    assert devices and all(d["operatingSystem"] == "Windows" and len(d) == 2 for d in devices)


def test_every_resource_answers_with_an_odata_context(cloud, customer_token):
    for path in (
        "/v1.0/organization",
        "/v1.0/groups",
        "/v1.0/devices",
        "/beta/deviceManagement/deviceCompliancePolicies",
        "/v1.0/servicePrincipals",
    ):
        response = cloud.get(path, customer_token)
        assert response.status_code == 200, path
        assert response.json()["@odata.context"].startswith(cloud.graph), path
    org = cloud.get("/v1.0/organization", customer_token).json()["value"]
    assert [o["id"] for o in org] == [cloud.customer()["tenant_id"]]


def test_group_members_are_directory_objects(cloud, customer_token):
    group = cloud.get("/v1.0/groups?$top=1", customer_token).json()["value"][0]
    members = cloud.get(f"/v1.0/groups/{group['id']}/members", customer_token).json()["value"]
    assert members and all(m["@odata.type"] == "#microsoft.graph.user" for m in members)


def test_the_first_page_of_a_big_tenant_answers_fast(cloud):
    big = cloud.customer(big=True)
    assert big["users"] == BIG_TENANT_USERS
    token = cloud.token(big["tenant_id"])
    cloud.get("/v1.0/users?$top=1", token)  # connection set up
    started = time.perf_counter()
    body = cloud.get("/v1.0/users", token).json()
    elapsed = time.perf_counter() - started
    assert len(body["value"]) == 100 and "@odata.nextLink" in body
    assert elapsed < 0.25, f"first page took {elapsed * 1000:.0f} ms"


def test_a_filter_over_the_big_tenant_stays_bounded(cloud):
    token = cloud.token(cloud.customer(big=True)["tenant_id"])
    started = time.perf_counter()
    body = cloud.get("/v1.0/users?$filter=startswith(displayName,'Zoe')&$top=50", token).json()
    assert len(body["value"]) == 50 and "@odata.nextLink" in body
    assert time.perf_counter() - started < 2


def test_an_unknown_segment_is_a_graph_bad_request(cloud, customer_token):
    response = cloud.get("/v1.0/notARealSegment/x", customer_token)
    assert response.status_code == 400
    error = graph_error(response)
    assert (error["code"], error["message"]) == (
        "BadRequest",
        "Resource not found for the segment 'notARealSegment'.",
    )


def test_single_entities_are_found_by_id_with_an_entity_context(cloud, customer_token):
    for collection in ("groups", "devices", "deviceManagement/managedDevices"):
        first = cloud.get(f"/v1.0/{collection}?$top=1", customer_token).json()["value"][0]
        body = cloud.get(f"/v1.0/{collection}/{first['id']}?$select=id", customer_token).json()
        assert body == {
            "@odata.context": f"{cloud.graph}/v1.0/$metadata#{collection}(id)/$entity",
            "id": first["id"],
        }
        missing = cloud.get(
            f"/v1.0/{collection}/{'0' * 8}-0000-0000-0000-{'0' * 12}", customer_token
        )
        assert missing.status_code == 404, collection
