"""The customers list as a table: sort by column in the URL, the column chooser remembered per
user, the CSV of the view, paging that keeps the sort. Database only: no Microsoft."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime

import pytest

from accounts.preferences import columns_of
from audit.models import AuditEvent
from customers.models import ConsentState, Customer
from tests.factories import client_for, customer_make

pytestmark = pytest.mark.django_db


def _names(body: str) -> list[str]:
    return re.findall(r'<td class="fw-semibold"><a href="/customers/[^"]+/">([^<]+)</a>', body)


def _three(region):
    return [
        customer_make(region=region, name="Bravo Ltd", default_domain="alpha.example"),
        customer_make(region=region, name="Alpha Inc", default_domain="charlie.example"),
        customer_make(region=region, name="Charlie AG", default_domain="bravo.example"),
    ]


def test_the_list_sorts_by_name_by_default_and_by_a_clicked_column_either_way(
    own_agent, own_region
):
    _three(own_region)
    client = client_for(own_agent)
    assert _names(client.get("/customers/").content.decode()) == [
        "Alpha Inc",
        "Bravo Ltd",
        "Charlie AG",
    ]
    by_domain = client.get("/customers/", {"sort": "domain"}).content.decode()
    assert _names(by_domain) == ["Bravo Ltd", "Charlie AG", "Alpha Inc"]
    backwards = client.get("/customers/", {"sort": "domain", "dir": "desc"}).content.decode()
    assert _names(backwards) == ["Alpha Inc", "Charlie AG", "Bravo Ltd"]


def test_the_sorted_header_says_so_to_screen_readers_and_links_the_other_way(own_agent, own_region):
    _three(own_region)
    body = client_for(own_agent).get("/customers/", {"sort": "domain"}).content.decode()
    assert 'data-column="domain" aria-sort="ascending"' in body
    assert 'data-column="name" aria-sort="none"' in body
    link = re.search(r'href="([^"]+)" data-testid="sort-domain"', body).group(1)
    assert "sort=domain" in link and "dir=desc" in link
    # Region is the same for every row: not a link, and the page says why.
    assert 'data-column="region">Region</th>' in body
    assert 'data-testid="sort-note"' in body


def test_an_unknown_sort_column_falls_back_to_the_name(own_agent, own_region):
    _three(own_region)
    body = client_for(own_agent).get("/customers/", {"sort": "region;drop", "dir": "x"})
    assert body.status_code == 200
    assert _names(body.content.decode())[0] == "Alpha Inc"


def test_the_search_keeps_the_sort_and_an_empty_search_links_back_without_it(own_agent, own_region):
    _three(own_region)
    client = client_for(own_agent)
    body = client.get("/customers/", {"sort": "domain", "dir": "desc", "q": "zzz"}).content
    text = body.decode()
    assert "No customer matches “zzz”." in text
    clear = re.search(r'href="([^"]*)" data-testid="clear-search"', text).group(1)
    assert "q=" not in clear and "sort=domain" in clear
    assert '<input type="hidden" name="sort" value="domain">' in text


def test_paging_keeps_the_sort(own_agent, own_region):
    Customer.objects.bulk_create(
        Customer(region=own_region, tenant_id=uuid.uuid4(), name=f"Customer {i:03}")
        for i in range(30)
    )
    client = client_for(own_agent)
    first = client.get("/customers/", {"sort": "name", "dir": "desc"}).content.decode()
    assert _names(first)[0] == "Customer 029"
    assert "1\u201325 of 30" in first
    link = re.search(r'data-testid="next-page"', first)
    assert link and "sort=name&amp;dir=desc&amp;page=2" in first
    second = client.get("/customers/", {"sort": "name", "dir": "desc", "page": 2}).content
    assert _names(second.decode()) == [f"Customer {i:03}" for i in range(4, -1, -1)]
    assert 'data-testid="previous-page"' in second.decode()


def test_the_column_chooser_is_remembered_for_the_user_and_ignores_unknown_columns(
    own_agent, own_region
):
    customer = customer_make(region=own_region, name="Alpha Inc")
    client = client_for(own_agent)
    saved = client.post(
        "/tables/customers/columns/",
        {"columns": ["domain", "synced", "nonsense", "<script>"], "next": "/customers/?q=Al"},
    )
    assert saved.status_code == 302 and saved["Location"] == "/customers/?q=Al"
    # The name is always shown: it links to the customer.
    assert columns_of(own_agent, "customers") == ["name", "domain", "synced"]
    body = client.get("/customers/").content.decode()
    assert 'data-column="synced"' in body and 'data-column="tenant"' not in body
    assert f'<td class="mono text-body-secondary">{customer.tenant_id}' not in body
    event = AuditEvent.objects.filter(action="preferences.columns").get()
    assert event.detail["before"] is None
    assert event.detail["after"] == ["name", "domain", "synced"]


def test_the_chosen_columns_are_one_users_not_another_s(own_agent, own_region):
    from tests.factories import user_make

    colleague = user_make(region=own_region)
    client_for(own_agent).post("/tables/customers/columns/", {"columns": ["domain"]})
    body = client_for(colleague).get("/customers/").content.decode()
    assert 'data-column="tenant"' in body


def test_defaults_restores_the_table_s_columns(own_agent, own_region):
    client = client_for(own_agent)
    client.post("/tables/customers/columns/", {"columns": ["domain"]})
    client.post("/tables/customers/columns/", {"reset": "1"})
    assert columns_of(own_agent, "customers") is None


def test_the_column_chooser_of_an_unknown_table_is_404_and_an_outside_next_is_not_followed(
    own_agent,
):
    client = client_for(own_agent)
    assert client.post("/tables/nosuch/columns/", {"columns": ["a"]}).status_code == 404
    away = client.post(
        "/tables/customers/columns/", {"columns": ["domain"], "next": "https://evil.example/"}
    )
    assert away.status_code == 302 and "evil" not in away["Location"]
    assert client.get("/tables/customers/columns/").status_code == 405


def _csv(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte order mark, for Excel"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_csv_export_is_the_view_its_search_sort_and_columns_and_is_audited(
    own_agent, own_region
):
    _three(own_region)
    customer_make(
        region=own_region,
        name="Zoë Café Sàrl",
        default_domain="zoe.example",
        consent_state=ConsentState.CONSENTED,
        synced_at=datetime(2026, 12, 1, 7, 3, 41, 123456, tzinfo=UTC),
    )
    client = client_for(own_agent)
    client.post("/tables/customers/columns/", {"columns": ["domain", "consent", "synced"]})
    response = client.get("/customers/export.csv", {"q": "o", "sort": "domain", "dir": "desc"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="customers-' in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == ["Name", "Default domain", "App consent", "Last synced"]
    assert rows[1] == ["Zoë Café Sàrl", "zoe.example", "Consented", "2026-12-01T07:03:41+00:00"]
    assert [r[0] for r in rows[1:]] == ["Zoë Café Sàrl", "Charlie AG", "Bravo Ltd"]
    event = AuditEvent.objects.filter(action="customers.export").get()
    assert event.detail["q"] == "o" and event.detail["sort"] == "domain"
    assert event.detail["dir"] == "desc"


def test_the_csv_export_defuses_formulas_and_holds_only_the_user_s_region(
    own_agent, own_region, other_customer
):
    customer_make(region=own_region, name="=HYPERLINK(1)")
    rows = _csv(client_for(own_agent).get("/customers/export.csv"))
    names = [r[0] for r in rows[1:]]
    assert names == ["'=HYPERLINK(1)"]
    assert other_customer.name not in names


def test_the_list_links_its_export_with_the_current_search_and_sort(own_agent, own_region):
    _three(own_region)
    body = client_for(own_agent).get("/customers/", {"q": "a", "sort": "domain"}).content
    assert b'href="/customers/export.csv?q=a&amp;sort=domain&amp;dir=asc"' in body
