"""The OData engine on its own: parsing, evaluation, paging, skiptokens (no server)."""

from __future__ import annotations

import pytest

from simulator.graph.errors import ODataError
from simulator.graph.filters import evaluate, parse_filter, parse_search, search_matches
from simulator.graph.odata import (
    Collection,
    decode_skiptoken,
    encode_skiptoken,
    parse_options,
    run_query,
)

ROWS = [
    {"id": f"id-{i}", "displayName": name, "mail": f"{name.split()[0].lower()}@x.com", "on": on}
    for i, (name, on) in enumerate(
        [
            ("John Smith", True),
            ("Mary Jones", False),
            ("Joanna Brown", True),
            ("Peter Johansson", True),
            ("Anna Kim", False),
        ]
    )
]


def people(**overrides: object) -> Collection:
    options: dict = {
        "entity_set": "users",
        "entity_type": "microsoft.graph.user",
        "size": len(ROWS),
        "item": ROWS.__getitem__,
        "properties": frozenset({"id", "displayName", "mail", "on"}),
        "default_top": 2,
        "default_orderby": frozenset({"displayName"}),
    }
    options.update(overrides)
    return Collection(**options)


def query(coll: Collection, eventual: bool = False, position: int = 0, **args: str):
    return run_query(coll, parse_options(args), eventual=eventual, position=position)


def names(page) -> list[str]:
    return [row["displayName"] for row in page.items]


def test_filter_eq_is_case_insensitive_on_strings():
    assert evaluate(parse_filter("displayName eq 'john smith'"), ROWS[0])
    assert not evaluate(parse_filter("displayName eq 'John'"), ROWS[0])


def test_filter_combines_functions_booleans_and_parentheses():
    node = parse_filter("(startswith(displayName,'Jo') or endsWith(mail,'@y.com')) and on eq true")
    assert [r["displayName"] for r in ROWS if evaluate(node, r)] == ["John Smith", "Joanna Brown"]


def test_filter_understands_quotes_inside_strings_and_any_lambdas():
    assert evaluate(parse_filter("name eq 'O''Brien'"), {"name": "O'Brien"})
    node = parse_filter("groupTypes/any(c:c eq 'Unified')")
    assert evaluate(node, {"groupTypes": ["Unified"]})
    assert not evaluate(node, {"groupTypes": []})


def test_filter_compares_iso_dates_as_strings():
    node = parse_filter("lastSyncDateTime lt 2026-01-01T00:00:00Z")
    assert evaluate(node, {"lastSyncDateTime": "2025-12-31T10:00:00Z"})
    assert not evaluate(node, {"lastSyncDateTime": "2026-02-01T10:00:00Z"})


@pytest.mark.parametrize("text", ["displayName eq", "startswith(displayName 'x')", "a eq 'b' and"])
def test_malformed_filters_are_bad_requests(text):
    with pytest.raises(ODataError) as caught:
        parse_filter(text)
    assert caught.value.status == 400


def test_search_matches_word_prefixes_with_or_of_clauses():
    groups = parse_search('"displayName:jo" OR "mail:anna"')
    hits = [r["displayName"] for r in ROWS if search_matches(groups, r)]
    assert hits == ["John Smith", "Mary Jones", "Joanna Brown", "Peter Johansson", "Anna Kim"]


def test_search_without_quotes_is_a_syntax_error():
    with pytest.raises(ODataError, match="Syntax error"):
        parse_search("displayName:jo")


def test_pages_chain_through_positions_until_the_last_page_has_no_next():
    coll, seen, position = people(), [], 0
    while True:
        page = query(coll, position=position)
        seen += names(page)
        if page.next_position is None:
            break
        position = page.next_position
    assert seen == [r["displayName"] for r in ROWS]


def test_filtered_pages_resume_after_the_last_match():
    coll = people()
    first = query(coll, **{"$filter": "on eq true"})
    assert names(first) == ["John Smith", "Joanna Brown"]
    second = query(coll, position=first.next_position, **{"$filter": "on eq true"})
    assert names(second) == ["Peter Johansson"]
    assert second.next_position is None


def test_advanced_queries_need_consistency_level_eventual_on_directory_objects():
    coll = people()
    for args in ({"$search": '"displayName:jo"'}, {"$filter": "displayName ne 'x'"}):
        with pytest.raises(ODataError) as caught:
            query(coll, **args)
        assert caught.value.code == "Request_UnsupportedQuery"
    endswith = {"$filter": "endswith(mail,'@x.com')"}
    with pytest.raises(ODataError, match=r"Try adding \$count=true"):
        query(coll, eventual=True, **endswith)
    assert query(coll, eventual=True, **endswith, **{"$count": "true"}).items


def test_count_is_ignored_without_consistency_level_and_counted_with_it():
    coll = people()
    assert query(coll, **{"$count": "true"}).count is None
    page = query(coll, eventual=True, **{"$count": "true", "$search": '"displayName:jo"'})
    assert page.count == 4  # John, Jones, Joanna, Johansson: every word is matched


def test_non_directory_collections_take_ne_without_the_header():
    page = query(people(directory=False), **{"$filter": "on ne true", "$count": "true"})
    assert (names(page), page.count) == (["Mary Jones", "Anna Kim"], 2)


def test_top_beyond_the_maximum_is_refused_or_clamped_per_collection():
    with pytest.raises(ODataError, match="between 1 and 999"):
        query(people(), **{"$top": "1000"})
    assert len(query(people(max_top=3, clamp_top=True), **{"$top": "5000"}).items) == 3


def test_skip_is_refused_where_graph_refuses_it():
    with pytest.raises(ODataError, match=r"\$skip"):
        query(people(), **{"$skip": "1"})
    assert names(query(people(skip_supported=True), **{"$skip": "3"})) == [
        "Peter Johansson",
        "Anna Kim",
    ]


def test_select_projects_and_rejects_unknown_properties():
    page = query(people(), **{"$select": "displayName,mail"})
    assert page.items[0] == {"displayName": "John Smith", "mail": "john@x.com"}
    with pytest.raises(ODataError, match="Could not find a property named 'nope'"):
        query(people(), **{"$select": "nope"})


def test_orderby_sorts_case_insensitively_in_both_directions():
    coll = people(default_top=5)
    assert names(query(coll, **{"$orderby": "displayName"}))[:2] == ["Anna Kim", "Joanna Brown"]
    assert names(query(coll, **{"$orderby": "displayName desc"}))[0] == "Peter Johansson"


def test_a_skiptoken_round_trips_and_a_tampered_one_is_refused():
    token = encode_skiptoken(b"key", "tenant|/users", 300)
    assert decode_skiptoken(b"key", "tenant|/users", token) == 300
    for bad in (token[:-2] + "AA", "garbage", token.replace("A", "B", 1)):
        with pytest.raises(ODataError) as caught:
            decode_skiptoken(b"key", "tenant|/users", bad)
        assert caught.value.status == 400
    with pytest.raises(ODataError):
        decode_skiptoken(b"key", "other|/users", token)  # not valid for another collection
