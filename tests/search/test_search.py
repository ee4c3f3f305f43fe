"""Search across customers: the index (read as the app after each sync) answers for the
customers the agent's GDAP groups reach; the others are asked live with the agent's token;
the rest are listed as skipped with the reason. Never a customer of another region."""

from __future__ import annotations

import collections
import re
from typing import Any

import pytest

from customers.models import Customer
from customers.services import customers_sync, sync_run_start
from search.index import index_refresh
from search.models import IndexedDevice, IndexedTenant, IndexedUser

pytestmark = pytest.mark.django_db


def _sync_and_index(region: Any) -> None:
    run, _ = sync_run_start(region=region)
    customers_sync(run_id=run.pk)
    index_refresh(region_id=region.pk)


@pytest.fixture
def indexed(regions: dict[str, Any]) -> dict[str, Any]:
    for region in regions.values():
        _sync_and_index(region)
    return regions


def _region(world: dict[str, Any], slug: str) -> dict[str, Any]:
    return next(r for r in world["regions"] if r["slug"] == slug)


def _reached(world: dict[str, Any], slug: str, username: str) -> dict[str, list[str]]:
    """{tenant id: roles} the username's groups hold, from the simulator's world."""
    region = _region(world, slug)
    agent = next(a for a in world["agents"] if a["username"] == username)
    held: dict[str, list[str]] = {}
    for group in region["groups"]:
        if group["name"] in agent["groups"]:
            for tenant, roles in group["roles_by_customer"].items():
                held.setdefault(tenant, []).extend(roles)
    return held


_HIT = re.compile(
    r'data-testid="search-hit" data-kind="(\w+)" data-tenant="([0-9a-f-]+)" data-source="(\w+)"'
)


def _hits(html: str) -> list[tuple[str, str, str]]:
    """(kind, tenant, source) of each result row."""
    return _HIT.findall(html)


def test_the_index_holds_only_customers_a_group_of_the_region_may_read(indexed, world):
    us = _region(world, "us")
    assigned = set()
    for group in us["groups"]:
        assigned |= set(group["roles_by_customer"])
    indexed_tenants = {
        str(t)
        for t in IndexedTenant.objects.filter(
            customer__region=indexed["us"], users=True
        ).values_list("customer__tenant_id", flat=True)
    }
    assert indexed_tenants, "some customer of the region is indexed"
    assert indexed_tenants <= assigned
    # As the portal knows them: a GDAP customer that also keeps DAP is stored as GDAP.
    dap = {
        str(t)
        for t in Customer.objects.filter(
            region=indexed["us"], relationship_type__in=["dap", "gdap+dap"]
        ).values_list("tenant_id", flat=True)
    }
    assert dap
    assert not indexed_tenants & dap  # Microsoft decides there: searched live
    expired = {c["tenant_id"] for c in us["customers"] if c["relationship"]["status"] != "active"}
    assert not indexed_tenants & expired


def test_search_finds_a_user_present_in_several_customers_and_never_one_of_another_region(
    indexed, sign_in, world
):
    def names_in(region: Any) -> dict[str, set[int]]:
        found: dict[str, set[int]] = collections.defaultdict(set)
        for name, customer in IndexedUser.objects.filter(customer__region=region).values_list(
            "display_name", "customer_id"
        ):
            found[name].add(customer)
        return found

    us, eu = names_in(indexed["us"]), names_in(indexed["eu"])
    # A name several US customers have and the EU region has too: the strongest case.
    name = max(set(us) & set(eu), key=lambda n: len(us[n]))
    assert len(us[name]) >= 2 and eu[name]

    html = sign_in("agent@contosopartners.com").get("/search/", {"q": name}).content.decode()

    tenants = {t for kind, t, _ in _hits(html) if kind == "user"}
    us_tenants = {c["tenant_id"] for c in _region(world, "us")["customers"]}
    eu_tenants = {c["tenant_id"] for c in _region(world, "eu")["customers"]}
    assert len(tenants) >= 2
    assert tenants <= us_tenants
    assert not any(t in html for t in eu_tenants)


def _live_all(client: Any, q: str) -> str:
    """Follow the live chunks as the page's htmx would, one after the other."""
    html, chunk = "", 0
    while True:
        answer = client.get("/search/live/", {"q": q, "chunk": chunk})
        assert answer.status_code == 200, answer.content[:300]
        body = answer.content.decode()
        html += body
        match = re.search(r'chunk=(\d+)" hx-trigger="load"', body)
        if not match:
            return html
        chunk = int(match.group(1))


def test_customers_where_microsoft_decides_are_asked_live_with_the_agents_token(
    indexed, sign_in, sim
):
    client = sign_in("agent@contosopartners.com")
    # A name every generated tenant has a user for: the first user of a DAP+GDAP customer.
    live_customer = Customer.objects.get(region=indexed["us"], relationship_type="dap")
    page = client.get("/search/", {"q": "ade"}).content.decode()
    assert 'data-testid="live-pending"' in page
    before = sim.requests()["counters"]["graph"]

    html = _live_all(client, "ade")

    assert sim.requests()["counters"]["graph"] > before, html
    assert 'data-testid="live-done"' in html
    # Microsoft answered for the DAP customer (the agent is in AdminAgents) or said why not.
    tenant = str(live_customer.tenant_id)
    assert tenant in html
    indexed_tenants = {
        str(t) for t in IndexedTenant.objects.values_list("customer__tenant_id", flat=True)
    }
    assert {source for _, _, source in _hits(html)} <= {"live"}
    assert not {t for _, t, _ in _hits(html)} & indexed_tenants


def test_a_second_live_search_within_a_minute_costs_microsoft_nothing(indexed, sign_in, sim):
    client = sign_in("agent@contosopartners.com")
    client.get("/search/", {"q": "ade"})
    first = _live_all(client, "ade")
    before = sim.requests()["counters"]
    second = _live_all(client, "ade")
    after = sim.requests()["counters"]

    assert _hits(first), "the live customers answered the first time"
    assert after["graph"] == before["graph"] and after["token"] == before["token"]
    assert _hits(first) == _hits(second)


def test_customers_the_agent_cannot_reach_are_listed_as_skipped_with_the_reason(
    indexed, sign_in, world
):
    html = sign_in("agent@contosopartners.com").get("/search/", {"q": "ade"}).content.decode()

    assert 'data-testid="search-skipped"' in html
    expired = next(
        c for c in _region(world, "us")["customers"] if c["relationship"]["status"] == "expired"
    )
    skipped = html.split('data-testid="search-skipped"', 1)[1]
    assert expired["name"].replace("'", "&#x27;") in skipped
    assert "no active admin relationship" in skipped


def test_an_agent_without_an_intune_role_finds_users_but_no_devices_there(indexed, sign_in, world):
    l1 = next(a["username"] for a in world["agents"] if a["username"].startswith("l1@"))
    reached = _reached(world, "us", l1)
    tenant = next(iter(reached))
    device = IndexedDevice.objects.filter(customer__tenant_id=tenant).first()
    assert device is not None, "the index holds that customer's devices (others may read them)"

    client = sign_in(l1)
    html = client.get("/search/", {"q": device.device_name}).content.decode()
    html += _live_all(client, device.device_name) if "live-pending" in html else ""

    assert not [h for h in _hits(html) if h[0] == "device" and h[1] == tenant]


def test_a_query_of_two_characters_asks_for_more_and_calls_no_one(indexed, sign_in, sim):
    client = sign_in("agent@contosopartners.com")
    before = sim.requests()["counters"]
    page = client.get("/search/", {"q": "ad"})
    live = client.get("/search/live/", {"q": "ad", "chunk": 0})

    assert "Type at least 3 characters" in page.content.decode()
    assert live.status_code == 400
    after = sim.requests()["counters"]
    assert (after["graph"], after["token"]) == (before["graph"], before["token"])


def test_a_chunk_number_out_of_range_is_a_clear_400(indexed, sign_in):
    client = sign_in("agent@contosopartners.com")
    for chunk in ("99", "-1", "x"):
        answer = client.get("/search/live/", {"q": "ade", "chunk": chunk})
        assert answer.status_code == 400
        assert "Search again" in answer.content.decode()


def test_a_customer_whose_consent_is_gone_leaves_the_index_at_the_next_refresh(indexed, sign_in):
    customer = Customer.objects.filter(region=indexed["us"], search_index__users=True).first()
    assert IndexedUser.objects.filter(customer=customer).exists()
    Customer.objects.filter(pk=customer.pk).update(consent_state="not_consented")

    index_refresh(region_id=indexed["us"].pk)

    assert not IndexedUser.objects.filter(customer=customer).exists()
    assert not IndexedTenant.objects.filter(customer=customer).exists()


def test_a_cached_plan_serves_until_the_region_syncs_again(indexed, world):
    from accounts.models import Role
    from customers.models import GdapRelationship
    from search.selectors import plans_outdate, search_plan_cached
    from tests.factories import user_make

    user = user_make(region=indexed["us"], role=Role.AGENT)
    groups = {g["id"]: g["name"] for g in _region(world, "us")["groups"]}
    first = search_plan_cached(user=user, session_key="s1", agent_groups=groups)
    customer_pk = next(iter(first.indexed_users))
    GdapRelationship.objects.filter(customer_id=customer_pk).update(status="expired")

    cached = search_plan_cached(user=user, session_key="s1", agent_groups=groups)
    other_session = search_plan_cached(user=user, session_key="s2", agent_groups=groups)
    plans_outdate(region_id=indexed["us"].pk)
    after_sync = search_plan_cached(user=user, session_key="s1", agent_groups=groups)

    assert customer_pk in cached.indexed_users
    assert customer_pk not in other_session.indexed_users  # another sign-in: its own plan
    assert customer_pk not in after_sync.indexed_users
    assert customer_pk in {s.customer.pk for s in after_sync.skipped}
