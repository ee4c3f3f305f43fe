"""The simulator keeps serialized device pages (simulator.graph.pagecache) so it does not
dominate a benchmark; what it answers must not change: a kept page equals a generated one
and a reset forgets them (a write is never hidden by a kept page: test_writes.py). Checked
tokens are remembered too, but an expired one is still refused."""

from __future__ import annotations

import time

from simulator.graph.pagecache import CachedPage, PageCache
from tests.simulator.graph.conftest import SimClient

DEVICES = "/v1.0/deviceManagement/managedDevices"
PAGE = {"$select": "id,complianceState,deviceName", "$top": "3"}


def _page_cache(cloud: SimClient) -> dict[str, int]:
    return cloud.sim.requests()["page_cache"]


def test_a_kept_device_page_is_the_page_graph_generated_with_a_new_next_link(cloud):
    tenant = cloud.customer()["tenant_id"]
    token = cloud.token(tenant)
    first = cloud.get(DEVICES, token, params=PAGE)
    hits = _page_cache(cloud)["hits"]

    again = cloud.get(DEVICES, token, params=PAGE)

    assert _page_cache(cloud)["hits"] == hits + 1
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["request-id"] != first.headers["request-id"]
    # The next page, through the kept page's nextLink, continues where it stopped.
    following = cloud.get(again.json()["@odata.nextLink"], token).json()["value"]
    assert {d["id"] for d in following}.isdisjoint({d["id"] for d in first.json()["value"]})


def test_a_reset_forgets_the_kept_pages(cloud):
    tenant = cloud.customer()["tenant_id"]
    cloud.get(DEVICES, cloud.token(tenant), params=PAGE)
    assert _page_cache(cloud)["pages"] >= 1

    cloud.sim.reset()

    assert _page_cache(cloud)["pages"] == 0


def test_a_checked_token_that_has_expired_since_is_refused(cloud):
    tenant = cloud.customer()["tenant_id"]
    now = int(time.time())
    token = cloud.mint(
        tenant,
        exp=now + 2,
        roles=["DeviceManagementManagedDevices.Read.All"],
        appid=cloud.us["app"]["client_id"],
    )
    assert cloud.get(DEVICES, token, params=PAGE).status_code == 200  # checked, remembered
    time.sleep(max(0.0, now + 2 - time.time()) + 0.1)

    refused = cloud.get(DEVICES, token, params=PAGE)

    assert refused.status_code == 401
    assert "expired" in refused.json()["error"]["message"]


def test_the_page_cache_keeps_to_its_budget_and_drops_the_least_recently_used():
    cache = PageCache(budget_bytes=10)
    cache.put(("a",), CachedPage("12345", None, None))
    cache.put(("b",), CachedPage("12345", 3, None))
    assert cache.get(("a",)) is not None  # a is now the most recently used
    cache.put(("c",), CachedPage("123", None, 7))

    assert cache.get(("b",)) is None
    assert cache.get(("a",)) == CachedPage("12345", None, None)
    assert cache.stats()["bytes"] == 8
    cache.put(("huge",), CachedPage("x" * 11, None, None))
    assert cache.get(("huge",)) is None  # bigger than the whole budget: never kept
