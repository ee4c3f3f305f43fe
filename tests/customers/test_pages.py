"""Customer pages against the simulator: data, paging, round trips, and Microsoft's errors."""

from __future__ import annotations

import re
import time

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from customers.models import Customer
from regions.models import Region
from tests.conftest import callback_path, idp_sign_in, password_of
from tests.simharness import Simulator

pytestmark = pytest.mark.django_db

AGENT = "agent@contosopartners.com"


def _counters(sim):
    counters = sim.requests()["counters"]
    return {"token": counters.get("token", 0), "graph": counters.get("graph", 0)}


def _delta(before, after):
    return {k: after[k] - before[k] for k in before}


def _customer(world, customers, slug="us", relationship="active"):
    info = next(
        c
        for r in world["regions"]
        if r["slug"] == slug
        for c in r["customers"]
        if c["relationship"]["status"] == relationship and not c.get("big")
    )
    return info, next(c for c in customers[slug] if str(c.tenant_id) == info["tenant_id"])


def test_the_overview_shows_the_organization_and_counts(sign_in, world, customers):
    info, customer = _customer(world, customers)
    body = sign_in(AGENT).get(f"/customers/{customer.tenant_id}/").content.decode()
    assert info["domain"] in body
    users = re.search(r'data-testid="count-users">(\d+)<', body)
    assert users and int(users.group(1)) == info["users"]
    assert re.search(r'data-testid="count-managed">(\d+)<', body)


def test_a_cold_overview_costs_one_token_and_one_graph_request_and_a_warm_one_no_token(
    sim, sign_in, world, customers
):
    _, customer = _customer(world, customers)
    client = sign_in(AGENT)
    before = _counters(sim)
    assert client.get(f"/customers/{customer.tenant_id}/").status_code == 200
    assert _delta(before, _counters(sim)) == {"token": 1, "graph": 1}
    before = _counters(sim)
    assert client.get(f"/customers/{customer.tenant_id}/").status_code == 200
    assert _delta(before, _counters(sim)) == {"token": 0, "graph": 1}


def test_users_page_pages_with_a_skiptoken_carried_in_our_url(sign_in, world, customers):
    info, customer = _customer(world, customers)
    client = sign_in(AGENT)
    first = client.get(f"/customers/{customer.tenant_id}/users/").content.decode()
    link = re.search(r'data-testid="next-page" href="\?page=([^"]+)"', first)
    assert info["users"] > 25 and link, "more users than one page, so a next-page link"
    second = client.get(f"/customers/{customer.tenant_id}/users/?page={link.group(1)}")
    assert second.status_code == 200
    first_names = set(re.findall(r'<td class="fw-semibold">([^<]+)</td>', first))
    second_names = set(re.findall(r'<td class="fw-semibold">([^<]+)</td>', second.content.decode()))
    assert second_names and not first_names & second_names


def test_a_tampered_page_token_is_a_clear_400(sign_in, world, customers):
    _, customer = _customer(world, customers)
    response = sign_in(AGENT).get(f"/customers/{customer.tenant_id}/users/", {"page": "<script>\n"})
    assert response.status_code == 400
    assert "not valid any more" in response.content.decode()


def test_users_can_be_searched(sign_in, world, customers):
    _, customer = _customer(world, customers)
    client = sign_in(AGENT)
    first = client.get(f"/customers/{customer.tenant_id}/users/").content.decode()
    name = re.findall(r'<td class="fw-semibold">([^<]+)</td>', first)[0]
    term = name.split()[0]
    found = client.get(f"/customers/{customer.tenant_id}/users/", {"q": term}).content.decode()
    names = re.findall(r'<td class="fw-semibold">([^<]+)</td>', found)
    assert names and all(term.lower() in n.lower() for n in names)


def test_groups_list_links_to_members(sign_in, world, customers):
    _, customer = _customer(world, customers)
    client = sign_in(AGENT)
    groups = client.get(f"/customers/{customer.tenant_id}/groups/").content.decode()
    link = re.search(rf'href="(/customers/{customer.tenant_id}/groups/[0-9a-f-]+/)"', groups)
    assert link
    detail = client.get(link.group(1))
    assert detail.status_code == 200
    assert 'data-testid="member-table"' in detail.content.decode()


def test_devices_page_lists_entra_devices(sign_in, world, customers):
    _, customer = _customer(world, customers)
    body = sign_in(AGENT).get(f"/customers/{customer.tenant_id}/devices/").content.decode()
    assert 'data-testid="device-table"' in body
    assert re.search(r"Windows|iOS|Android|macOS", body)


def test_managed_devices_filter_by_compliance_state(sign_in, world, customers):
    _, customer = _customer(world, customers)
    body = (
        sign_in(AGENT)
        .get(f"/customers/{customer.tenant_id}/managed-devices/", {"compliance": "noncompliant"})
        .content.decode()
    )
    table = body.split('data-testid="managed-table"')[1]
    assert "Compliant</span>" not in table
    assert "Noncompliant</span>" in table  # the seeded tenants all have noncompliant devices


def test_a_customer_without_a_relationship_gets_a_clear_403(sign_in, world, customers):
    _, customer = _customer(world, customers, relationship="expired")
    response = sign_in(AGENT).get(f"/customers/{customer.tenant_id}/users/")
    assert response.status_code == 403
    body = response.content.decode()
    # Expired, and said so: never "just created, wait a few minutes".
    assert "admin relationship with" in body and "has expired" in body
    assert "wait a few minutes" not in body


def test_throttling_says_when_to_try_again(sim, sign_in, world, customers):
    _, customer = _customer(world, customers)
    client = sign_in(AGENT)
    assert client.get(f"/customers/{customer.tenant_id}/users/").status_code == 200
    sim.faults(throttle={"limit": 1, "window": 60})
    client.get(f"/customers/{customer.tenant_id}/users/")
    response = client.get(f"/customers/{customer.tenant_id}/users/")
    assert response.status_code == 429
    assert re.search(r"try again in \d+ s", response.content.decode())


def test_server_errors_from_graph_become_a_message_not_a_stack_trace(
    sim, sign_in, world, customers
):
    _, customer = _customer(world, customers)
    client = sign_in(AGENT)
    assert client.get(f"/customers/{customer.tenant_id}/").status_code == 200
    sim.faults(error_rate=1.0)
    response = client.get(f"/customers/{customer.tenant_id}/users/")
    assert response.status_code == 502
    body = response.content.decode()
    assert "unavailable right now" in body and "Traceback" not in body


def test_every_customer_page_view_is_audited(sign_in, world, customers):
    _, customer = _customer(world, customers)
    client = sign_in(AGENT)
    client.get(f"/customers/{customer.tenant_id}/devices/")
    event = AuditEvent.objects.get(action="customer.devices")
    assert str(event.tenant_id) == str(customer.tenant_id)
    assert event.actor == AGENT
    assert "eyJ" not in str(event.detail)


def test_a_tenant_that_needs_interaction_sends_the_agent_through_its_authorize_and_back(
    sim, sign_in, world, customers
):
    _, customer = _customer(world, customers)
    tid = str(customer.tenant_id)
    client = sign_in(AGENT)
    sim.faults(tenant=tid, interaction_required=True)
    response = client.get(f"/customers/{tid}/users/?q=a")
    assert response.status_code == 302
    assert f"/{tid}/oauth2/v2.0/authorize" in response["Location"]
    location = idp_sign_in(response["Location"], AGENT, password_of(world, AGENT))
    back = client.get(callback_path(location))
    assert back.status_code == 302
    assert back["Location"] == f"/customers/{tid}/users/?q=a"
    before = sim.requests()["counters"].get("token", 0)
    assert client.get(back["Location"]).status_code == 200
    assert sim.requests()["counters"].get("token", 0) == before


def test_the_first_users_page_of_a_100k_user_tenant_is_one_graph_request(db, portal_client):
    with Simulator("--big-tenant-users", "100000", "--customers", "2") as big_sim:
        info = big_sim.info()
        call_command("configure_demo_regions", sim=big_sim.base_url, ca=big_sim.ca, stdout=None)
        us = next(r for r in info["regions"] if r["slug"] == "us")
        big = next(c for c in us["customers"] if c["big"])
        assert big["users"] == 100_000
        Customer.objects.create(
            region=Region.objects.get(slug="us"),
            tenant_id=big["tenant_id"],
            name=big["name"],
            default_domain=big["domain"],
            relationship_status="active",
        )
        client = portal_client
        start = client.post("/signin/", {"username": AGENT})
        location = idp_sign_in(start["Location"], AGENT, password_of(info, AGENT))
        client.get(callback_path(location))
        client.get(f"/customers/{big['tenant_id']}/users/")  # cold: token + graph
        before = big_sim.requests()["counters"]
        response = client.get(f"/customers/{big['tenant_id']}/users/")
        after = big_sim.requests()["counters"]
        assert response.status_code == 200
        assert after.get("graph", 0) - before.get("graph", 0) == 1
        assert after.get("token", 0) - before.get("token", 0) == 0
        assert "1\u201325 of 100,000" in response.content.decode()
        assert 'data-testid="next-page"' in response.content.decode()


def test_a_revoked_access_token_is_refreshed_once_silently(sim, sign_in, world, customers):
    _, customer = _customer(world, customers)
    tid = str(customer.tenant_id)
    client = sign_in(AGENT)
    assert client.get(f"/customers/{tid}/users/").status_code == 200
    time.sleep(1.1)  # token iat has one-second resolution
    sim.revoke(tid)
    before = _counters(sim)
    response = client.get(f"/customers/{tid}/users/")
    assert response.status_code == 200
    # The 401 costs one refresh-token redemption and one repeat of the Graph call.
    assert _delta(before, _counters(sim)) == {"token": 1, "graph": 2}


def test_a_revoked_session_ends_at_the_sign_in_page_without_a_loop(sim, sign_in, world, customers):
    _, customer = _customer(world, customers)
    tid = str(customer.tenant_id)
    client = sign_in(AGENT)
    assert client.get(f"/customers/{tid}/users/").status_code == 200
    time.sleep(1.1)
    sim.revoke(refresh_tokens=True)
    before = _counters(sim)
    response = client.get(f"/customers/{tid}/users/")
    # Graph 401 → one refresh attempt at the customer (AADSTS50173) → the same grant put to
    # the partner tenant (refused too) → the portal session ends: sign-in, back here after.
    assert response.status_code == 302
    assert response["Location"] == f"/signin/?next=/customers/{tid}/users/"
    assert _delta(before, _counters(sim)) == {"token": 2, "graph": 1}
    assert client.get("/customers/")["Location"].startswith("/signin/")


def test_an_unreachable_token_endpoint_is_a_clear_503(sign_in, world, customers, regions):
    _, customer = _customer(world, customers)
    client = sign_in(AGENT)
    region = regions["us"]
    region.login_host = "https://127.0.0.1:9"  # nothing listens on the discard port
    region.save()
    response = client.get(f"/customers/{customer.tenant_id}/users/")
    assert response.status_code == 503
    assert "could not be reached" in response.content.decode()


def test_a_graph_timeout_is_a_clear_504(sim, sign_in, world, customers, settings):
    _, customer = _customer(world, customers)
    client = sign_in(AGENT)
    assert client.get(f"/customers/{customer.tenant_id}/users/").status_code == 200
    settings.GRAPH_TIMEOUT = (3.05, 0.3)
    sim.faults(tenant=str(customer.tenant_id), latency_ms=1500)
    response = client.get(f"/customers/{customer.tenant_id}/users/")
    assert response.status_code == 504
    assert "did not answer in time" in response.content.decode()


def test_an_app_token_rejected_by_graph_is_replaced_once(sim, world, regions, customers):
    from regions.clients import graph_as_app

    _, customer = _customer(world, customers)
    graph = graph_as_app(region=regions["us"], tenant_id=str(customer.tenant_id))
    assert graph.get("/organization")["value"]
    time.sleep(1.1)  # token iat has one-second resolution
    sim.revoke(str(customer.tenant_id))
    before = _counters(sim)
    seen = len(sim.requests()["requests"])
    assert graph.get("/organization")["value"]
    # 401 → the cached app token is dropped, a new one is issued, the call repeated once.
    log = sim.requests()["requests"][seen:]
    ours = [
        e["status"]
        for e in log
        if e["kind"] == "graph"
        and e["tenant"] == str(customer.tenant_id)
        and e["path"].endswith("/organization")
    ]
    assert ours == [401, 200], log
    assert _delta(before, _counters(sim))["token"] == 1, log


def test_an_unconsented_gdap_customer_says_not_consented_instead_of_sending_to_sign_in(
    sim, sign_in, customers
):
    customer = customers["us"][0]
    sim.consent(str(customer.tenant_id), consented=False)
    response = sign_in(AGENT).get(f"/customers/{customer.tenant_id}/users/")
    assert response.status_code == 403  # not a 302 to /authorize
    body = response.content.decode()
    assert "not consented" in body and "AADSTS65001" in body and "My access" in body
