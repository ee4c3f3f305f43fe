"""The tenant switcher: /customers/switch/ names only the user's region's customers (a global
admin's: every region's, with the region), recent ones first, linked to the tab the user is
on, from the database alone."""

from __future__ import annotations

import pytest

from accounts.models import Role
from customers.recent import RECENT_MAX, SESSION_KEY, recent_record, recent_tenant_ids
from customers.switcher import Q_MAX, RESULTS_MAX, switcher_query_clean, switcher_search
from tests.factories import client_for, customer_make, user_make

pytestmark = pytest.mark.django_db


def _tenants(response) -> list[str]:
    """The tenant ids of the options, in order."""
    html = response.content.decode()
    return [part.split('"', 1)[0] for part in html.split('data-tenant="')[1:]]


def _recent(client, *customers) -> None:
    session = client.session
    session[SESSION_KEY] = [str(c.tenant_id) for c in customers]
    session.save()


def test_the_switcher_finds_a_customer_of_the_region_by_name_domain_or_tenant_id(
    own_agent, own_region
):
    target = customer_make(region=own_region, name="Fabrikam Outdoor", default_domain="fbk.example")
    customer_make(region=own_region, name="Northwind Traders")
    client = client_for(own_agent)
    for q in ("fabri", "FBK.EXA", str(target.tenant_id)[:13], str(target.tenant_id).upper()):
        response = client.get("/customers/switch/", {"q": q})
        assert response.status_code == 200
        assert _tenants(response) == [str(target.tenant_id)], q


def test_a_tenant_id_pasted_without_hyphens_or_in_braces_finds_the_customer(own_agent, own_region):
    target = customer_make(region=own_region)
    client = client_for(own_agent)
    for q in (target.tenant_id.hex, "{" + str(target.tenant_id) + "}"):
        assert _tenants(client.get("/customers/switch/", {"q": q})) == [str(target.tenant_id)]


def test_another_regions_customer_never_appears_even_by_its_exact_tenant_id(
    own_agent, own_customer, other_customer
):
    client = client_for(own_agent)
    tenant_id, name = str(other_customer.tenant_id), other_customer.name
    for q in (tenant_id, tenant_id.upper(), other_customer.tenant_id.hex, name):
        response = client.get("/customers/switch/", {"q": q})
        assert response.status_code == 200
        assert _tenants(response) == []
        assert 'data-testid="switcher-empty"' in response.content.decode()
    # The answer repeats only what was typed: neither the name for the id nor the other way.
    assert name not in client.get("/customers/switch/", {"q": tenant_id}).content.decode()
    assert tenant_id not in client.get("/customers/switch/", {"q": name}).content.decode()
    assert str(other_customer.tenant_id) not in _tenants(client.get("/customers/switch/"))


def test_another_regions_customer_in_the_sessions_recent_list_is_not_shown(
    own_agent, own_customer, other_customer
):
    client = client_for(own_agent)
    _recent(client, other_customer, own_customer)
    response = client.get("/customers/switch/")
    assert _tenants(response) == [str(own_customer.tenant_id)]
    assert other_customer.name not in response.content.decode()


def test_a_customer_of_an_inactive_region_is_not_offered(own_agent, own_region):
    customer = customer_make(region=own_region)
    own_region.active = False
    own_region.save(update_fields=["active"])
    assert _tenants(client_for(own_agent).get("/customers/switch/", {"q": customer.name})) == []


def test_a_global_admin_is_offered_their_own_regions_customers_only(
    own_region, own_customer, other_customer
):
    """Another region's customer pages are 404 to a global admin (tests/test_roles_matrix.py
    CROSS_REGION), so the switcher never offers one."""
    admin = user_make(region=own_region, role=Role.GLOBAL_ADMIN)
    response = client_for(admin).get("/customers/switch/", {"q": "Customer"})
    assert set(_tenants(response)) == {str(own_customer.tenant_id)}


def test_an_agent_does_not_see_the_region_names(own_agent, own_customer):
    html = client_for(own_agent).get("/customers/switch/").content.decode()
    assert 'data-testid="switcher-region"' not in html


def test_an_empty_query_lists_the_recent_customers_first_newest_first(own_agent, own_region):
    a, b, c = (
        customer_make(region=own_region, name=f"{n} Corp") for n in ("Alpha", "Bravo", "Charlie")
    )
    client = client_for(own_agent)
    _recent(client, c, a)
    response = client.get("/customers/switch/")
    assert _tenants(response) == [str(c.tenant_id), str(a.tenant_id), str(b.tenant_id)]
    assert response.content.decode().count('data-testid="switcher-recent"') == 2


def test_recent_customers_come_first_among_the_matches(own_agent, own_region):
    customer_make(region=own_region, name="Contoso Alpha")
    recent = customer_make(region=own_region, name="Contoso Zulu")
    client = client_for(own_agent)
    _recent(client, recent)
    assert _tenants(client.get("/customers/switch/", {"q": "contoso"}))[0] == str(recent.tenant_id)


def test_at_most_ten_results_come_back(own_agent, own_region):
    for i in range(RESULTS_MAX + 5):
        customer_make(region=own_region, name=f"Tailspin {i:02}")
    assert len(_tenants(client_for(own_agent).get("/customers/switch/", {"q": "tailspin"}))) == 10


@pytest.mark.parametrize(
    ("tab", "path"),
    [
        ("users", "users/"),
        ("groups", "groups/"),
        ("devices", "devices/"),
        ("managed-devices", "managed-devices/"),
        ("compliance", "compliance/"),
        ("access", "access/"),
        ("overview", ""),
        ("", ""),
        ("bulk", ""),  # a bulk run belongs to one customer: the other's overview
        ("../admin", ""),
    ],
)
def test_a_jump_keeps_the_tab_and_anything_else_goes_to_the_overview(
    own_agent, own_customer, tab, path
):
    response = client_for(own_agent).get("/customers/switch/", {"q": own_customer.name, "tab": tab})
    assert f'href="/customers/{own_customer.tenant_id}/{path}"' in response.content.decode()


@pytest.mark.parametrize(
    "q",
    [
        "x" * 1000,
        "\x00",
        "Contoso\x00; DROP TABLE customers_customer; --",
        "%_\\",
        "Ünïcödé 🦄 \u202e\u200b",
        "'\"<script>alert(1)</script>",
        "　",  # an ideographic space
    ],
)
def test_an_odd_query_never_fails(own_agent, own_customer, q):
    response = client_for(own_agent).get("/customers/switch/", {"q": q})
    assert response.status_code == 200
    assert b"<script>alert" not in response.content


def test_a_query_that_is_not_utf8_never_fails(own_agent, own_customer):
    for raw in ("%ED%A0%80", "%FF%FE", "%00%00", "%C0%AF"):
        assert client_for(own_agent).get(f"/customers/switch/?q={raw}").status_code == 200


def test_a_long_query_is_cut_to_the_cap_and_percent_signs_are_not_wildcards(own_agent, own_region):
    customer_make(region=own_region, name="Woodgrove Bank")
    assert len(switcher_query_clean("y" * 1000)) == Q_MAX
    assert switcher_query_clean(" a\x00b\tc ") == "abc"
    assert _tenants(client_for(own_agent).get("/customers/switch/", {"q": "%"})) == []


def test_opening_customer_pages_records_the_last_eight_newest_first(own_agent, own_region):
    customers = [customer_make(region=own_region) for _ in range(RECENT_MAX + 2)]
    client = client_for(own_agent)
    session = client.session
    for customer in customers:
        recent_record(session=session, customer=customer)
    recent_record(session=session, customer=customers[3])
    expected = [customers[i] for i in (3, 9, 8, 7, 6, 5, 4, 2)]
    assert recent_tenant_ids(session=session) == [str(c.tenant_id) for c in expected]
    assert (
        switcher_search(user=own_agent, q="", recent=recent_tenant_ids(session=session))[0].customer
        == customers[3]
    )


def test_a_session_with_rubbish_in_the_recent_list_still_works(own_agent, own_customer):
    client = client_for(own_agent)
    session = client.session
    session[SESSION_KEY] = ["not-a-uuid", 42, None]
    session.save()
    assert _tenants(client.get("/customers/switch/")) == [str(own_customer.tenant_id)]


def test_the_switcher_is_for_agents_and_up(norole_user, own_customer, portal_client):
    assert client_for(norole_user).get("/customers/switch/").status_code == 403
    assert portal_client.get("/customers/switch/").status_code == 302


def test_every_signed_in_page_carries_the_switcher_as_a_combobox(own_agent):
    html = client_for(own_agent).get("/customers/").content.decode()
    assert 'role="combobox"' in html
    assert 'aria-controls="switcher-listbox"' in html and 'id="switcher-listbox"' in html
    assert 'role="listbox"' in html and 'aria-expanded="false"' in html
    assert "js/switcher.js" in html
    assert "<script>" not in html  # no inline script: the CSP forbids it


def test_a_user_without_a_role_gets_no_switcher(norole_user):
    html = client_for(norole_user).get("/customers/").content.decode()
    assert 'role="combobox"' not in html


# With the simulator: opening a customer page records it, and switching costs Microsoft nothing.


def _sim_total(sim) -> int:
    counters = sim.requests()["counters"]
    return sum(n for kind, n in counters.items() if kind != "control")


def test_an_opened_customer_comes_first_and_the_switcher_calls_microsoft_not_once(
    sim, sign_in, customers
):
    client = sign_in("agent@contosopartners.com")
    first, second = customers["us"][0], customers["us"][1]
    assert client.get(f"/customers/{second.tenant_id}/").status_code in {200, 403, 502}
    assert client.get(f"/customers/{first.tenant_id}/access/").status_code in {200, 403, 502}
    before = _sim_total(sim)
    for q in ("", first.name[:4], str(first.tenant_id), "x" * 1000):
        assert client.get("/customers/switch/", {"q": q, "tab": "users"}).status_code == 200
    response = client.get("/customers/switch/", {"tab": "users"})
    assert _sim_total(sim) == before
    assert _tenants(response)[:2] == [str(first.tenant_id), str(second.tenant_id)]
    assert f'href="/customers/{first.tenant_id}/users/"' in response.content.decode()
