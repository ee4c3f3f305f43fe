"""A customer's users as a table, against the simulator: sorted by Graph ($orderby on the two
properties Graph sorts users by), the column chooser, the CSV of the view, and a position with
Previous on forward-only Graph paging.

# Reference: https://learn.microsoft.com/graph/api/user-list (Optional query parameters:
#   $orderby on displayName and userPrincipalName by default; ConsistencyLevel for $search)
# Reference: https://learn.microsoft.com/graph/paging (a @odata.nextLink forward only)
"""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest

from accounts.models import User
from accounts.preferences import columns_of
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

AGENT = "agent@contosopartners.com"


def _customer(world, customers, slug="us"):
    info = next(
        c
        for r in world["regions"]
        if r["slug"] == slug
        for c in r["customers"]
        if c["relationship"]["status"] == "active" and not c.get("big") and c["users"] > 25
    )
    return info, next(c for c in customers[slug] if str(c.tenant_id) == info["tenant_id"])


def _names(body: str) -> list[str]:
    return [unescape(n) for n in re.findall(r'<td class="fw-semibold">([^<]+)</td>', body)]


def _upns(body: str) -> list[str]:
    return re.findall(r'data-testid="user-link">([^<]+)</a>', body)


def _link(body: str, testid: str) -> str | None:
    found = re.search(rf'href="([^"]+)" data-testid="{testid}"', body) or re.search(
        rf'data-testid="{testid}" href="([^"]+)"', body
    )
    return unescape(found.group(1)) if found else None


def test_users_sort_by_name_either_way_through_graph(sign_in, world, customers):
    _, customer = _customer(world, customers)
    client = sign_in(AGENT)
    url = f"/customers/{customer.tenant_id}/users/"
    ascending = _names(client.get(url).content.decode())
    descending = _names(client.get(url, {"sort": "name", "dir": "desc"}).content.decode())
    assert len(ascending) == 25 and len(descending) == 25
    assert ascending == sorted(ascending, key=str.lower)
    assert descending == sorted(descending, key=str.lower, reverse=True)
    assert not set(ascending) & set(descending), "the two ends of a list longer than 50"


def test_users_sort_by_user_principal_name_and_the_header_says_so(sign_in, world, customers):
    _, customer = _customer(world, customers)
    body = (
        sign_in(AGENT)
        .get(f"/customers/{customer.tenant_id}/users/", {"sort": "upn", "dir": "desc"})
        .content.decode()
    )
    upns = _upns(body)
    assert upns == sorted(upns, key=str.lower, reverse=True)
    assert 'data-column="upn" aria-sort="descending"' in body
    assert 'data-column="name" aria-sort="none"' in body


def test_a_column_graph_cannot_sort_is_not_a_link_and_asking_for_it_keeps_the_name_order(
    sign_in, world, customers
):
    _, customer = _customer(world, customers)
    client = sign_in(AGENT)
    body = client.get(
        f"/customers/{customer.tenant_id}/users/", {"sort": "department", "dir": "desc"}
    ).content.decode()
    assert 'data-column="department">Department</th>' in body
    assert "Microsoft Graph sorts users by name and user principal name only" in body
    names = _names(body)
    assert names == sorted(names, key=str.lower)


def test_previous_goes_back_a_page_and_the_position_says_where_the_page_is(
    sign_in, world, customers
):
    info, customer = _customer(world, customers)
    client = sign_in(AGENT)
    url = f"/customers/{customer.tenant_id}/users/"
    first = client.get(url, {"sort": "name", "dir": "desc"}).content.decode()
    total = info["users"]
    assert f"1\u201325 of {total:,}" in first
    assert _link(first, "previous-page") is None
    second = client.get(url + _link(first, "next-page")).content.decode()
    assert f"26\u2013{min(50, total)} of {total:,}" in second
    back = _link(second, "previous-page")
    assert back is not None and "sort=name" in back and "dir=desc" in back
    again = client.get(url + back).content.decode()
    assert _names(again) == _names(first)
    assert f"1\u201325 of {total:,}" in again


def test_a_page_link_from_someone_else_s_session_offers_the_first_page_but_no_previous(
    sign_in, world, customers
):
    _, customer = _customer(world, customers)
    url = f"/customers/{customer.tenant_id}/users/"
    first = sign_in(AGENT).get(url).content.decode()
    shared = _link(first, "next-page")
    colleague = sign_in(AGENT)  # a second sign-in: a session without the list's tokens
    body = colleague.get(url + shared).content.decode()
    assert _names(body) and _link(body, "previous-page") is None
    assert _link(body, "first-page") is not None


def test_the_users_csv_has_the_chosen_columns_in_the_table_order_with_a_bom(
    sign_in, world, customers
):
    info, customer = _customer(world, customers)
    client = sign_in(AGENT)
    saved = client.post("/tables/users/columns/", {"columns": ["mail", "signin"]})
    assert saved.status_code == 302
    agent = AuditEvent.objects.filter(action="preferences.columns").latest("pk")
    assert agent.detail["after"] == ["name", "upn", "mail", "signin"]
    page = client.get(f"/customers/{customer.tenant_id}/users/").content.decode()
    assert 'data-column="mail"' in page and 'data-column="job"' not in page
    export = _link(page, "export-csv")
    response = client.get(export or f"/customers/{customer.tenant_id}/users/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["Name", "User principal name", "Mail", "Sign-in"]
    assert len(rows) - 1 == info["users"]
    names = [r[0] for r in rows[1:]]
    assert names == sorted(names, key=str.lower)
    assert {r[3] for r in rows[1:]} <= {"Allowed", "Blocked"}
    event = AuditEvent.objects.filter(action="customers.users_export").get()
    assert event.detail["rows"] == info["users"]
    assert event.detail["columns"] == ["name", "upn", "mail", "signin"]


def test_the_users_csv_follows_the_sort_and_the_search_of_the_view(sign_in, world, customers):
    _, customer = _customer(world, customers)
    client = sign_in(AGENT)
    url = f"/customers/{customer.tenant_id}/users/"
    name = _names(client.get(url).content.decode())[0]
    term = name.split()[0]
    page = client.get(url, {"q": term, "sort": "upn", "dir": "desc"}).content.decode()
    export = _link(page, "export-csv")
    assert export and f"q={term}" in export and "sort=upn" in export
    raw = b"".join(client.get(export).streaming_content)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))[1:]
    upns = [r[1] for r in rows]
    assert rows and upns == sorted(upns, key=str.lower, reverse=True)
    assert all(term.lower() in (r[0] + r[1]).lower() for r in rows)
    assert [r[1] for r in rows] == _upns(page)[: len(rows)]


def test_the_users_column_choice_is_kept_per_person_and_reset_restores_the_defaults(
    sign_in, world, customers
):
    _, customer = _customer(world, customers)
    client = sign_in(AGENT)
    client.post("/tables/users/columns/", {"columns": ["mail"]})
    body = client.get(f"/customers/{customer.tenant_id}/users/").content.decode()
    assert 'data-column="mail"' in body and 'data-column="department"' not in body
    client.post("/tables/users/columns/", {"reset": "1", "columns": ["mail"]})
    body = client.get(f"/customers/{customer.tenant_id}/users/").content.decode()
    assert 'data-column="mail"' not in body and 'data-column="department"' in body
    assert columns_of(User.objects.get(upn=AGENT), "users") is None
