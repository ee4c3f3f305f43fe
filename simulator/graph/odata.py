"""OData query options as Graph understands them: parsing, validation and paging.

Reference: https://learn.microsoft.com/graph/query-parameters
Reference: https://learn.microsoft.com/graph/aad-advanced-queries
Reference: https://learn.microsoft.com/graph/paging
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simulator.graph.errors import ODataError
from simulator.graph.filters import (
    Node,
    evaluate,
    filter_operators,
    filter_properties,
    parse_filter,
    parse_search,
    search_matches,
)

Item = dict[str, Any]

ADVANCED_DOCS = "Refer to https://aka.ms/graph-docs/advanced-queries for more information"
# Graph's own wording for each refusal of a query that only advanced mode (the header
# `ConsistencyLevel: eventual` plus `$count=true`) serves.
NO_HEADER = (
    "Operator '{op}' is not supported because the 'ConsistencyLevel:eventual' header is "
    f"missing. {ADVANCED_DOCS}"
)
NO_COUNT = (
    "Operator '{op}' is not supported because the required parameters might be missing. "
    f"Try adding $count=true query parameter and ConsistencyLevel:eventual header. {ADVANCED_DOCS}"
)
SEARCH_NEEDS_HEADER = (
    "Request with $search query parameter only works through MSGraph with a special request "
    "header: 'ConsistencyLevel: eventual'"
)
SORTING_UNSUPPORTED = "Sorting not supported for current query."
COUNT_SEGMENT_UNSUPPORTED = "$count is not currently supported."
# The query options Graph knows; beta also takes them without the `$`.
OPTION_NAMES = ("top", "skip", "select", "filter", "search", "count", "orderby", "expand")


# ----- query options --------------------------------------------------------------------
@dataclass
class QueryOptions:
    top: int | None = None
    skip: int = 0
    select: list[str] | None = None
    filter: Node | None = None
    search: list[list[tuple[str, str]]] | None = None
    count: bool = False
    orderby: list[tuple[str, bool]] = field(default_factory=list)  # (property, descending)
    expand: list[str] = field(default_factory=list)
    skiptoken: str | None = None

    def properties_used(self) -> set[str]:
        used = {name for name, _ in self.orderby}
        if self.filter is not None:
            used |= filter_properties(self.filter)
        for group in self.search or []:
            used |= {prop for prop, _ in group}
        return used

    def advanced_operators(self) -> list[str]:
        """The $filter operators Graph serves on directory objects in advanced mode only."""
        if self.filter is None:
            return []
        ops = filter_operators(self.filter)
        names = {"ne": "ne", "not": "not", "endswith": "endsWith"}
        return [names[op] for op in ("ne", "not", "endswith") if op in ops]


def canonical_args(args: Mapping[str, str], version: str) -> dict[str, str]:
    """The query options as Graph reads them: on beta the `$` is optional (`select` is
    `$select`); on v1.0 an option without it is no option at all and is ignored.

    Reference: https://learn.microsoft.com/graph/query-parameters
    """
    out = {key: args[key] for key in args if key.startswith("$")}
    if version == "beta":
        for name in OPTION_NAMES:
            if name in args and f"${name}" not in out:
                out[f"${name}"] = args[name]
    return out


def parse_options(args: Mapping[str, str], version: str = "v1.0") -> QueryOptions:
    args = canonical_args(args, version)
    opts = QueryOptions()
    if "$top" in args:
        try:
            opts.top = int(args["$top"])
        except ValueError as exc:
            raise ODataError(f"Invalid page size specified: '{args['$top']}'.") from exc
    if "$skip" in args:
        try:
            opts.skip = max(0, int(args["$skip"]))
        except ValueError as exc:
            raise ODataError(f"Invalid value for $skip: '{args['$skip']}'.") from exc
    if args.get("$select"):
        opts.select = [p.strip() for p in args["$select"].split(",") if p.strip()]
    if args.get("$filter"):
        opts.filter = parse_filter(args["$filter"])
    if "$search" in args:
        opts.search = parse_search(args["$search"])
    if "$count" in args:
        value = args["$count"].lower()
        if value not in ("true", "false"):
            raise ODataError(f"Invalid value for $count: '{args['$count']}'.")
        opts.count = value == "true"
    if args.get("$orderby"):
        for part in args["$orderby"].split(","):
            words = part.split()
            if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
                raise ODataError(f"Invalid $orderby expression: '{args['$orderby']}'.")
            opts.orderby.append((words[0], len(words) == 2 and words[1] == "desc"))
    if args.get("$expand"):
        opts.expand = [p.strip() for p in args["$expand"].split(",") if p.strip()]
    opts.skiptoken = args.get("$skiptoken") or None
    return opts


# ----- $skiptoken -----------------------------------------------------------------------
BAD_SKIPTOKEN = "The specified page token value is not valid. Start again from the first page."


def encode_skiptoken(key: bytes, scope: str, position: int) -> str:
    """Opaque page token: position plus a MAC so a tampered token is refused."""
    body = position.to_bytes(6, "big")
    mac = hmac.new(key, scope.encode() + body, hashlib.sha256).digest()[:10]
    return base64.urlsafe_b64encode(b"\x01" + body + mac).decode().rstrip("=")


def decode_skiptoken(key: bytes, scope: str, token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as exc:
        raise ODataError(BAD_SKIPTOKEN) from exc
    if len(raw) != 17 or raw[0] != 1:
        raise ODataError(BAD_SKIPTOKEN)
    body, mac = raw[1:7], raw[7:]
    expected = hmac.new(key, scope.encode() + body, hashlib.sha256).digest()[:10]
    if not hmac.compare_digest(mac, expected):
        raise ODataError(BAD_SKIPTOKEN)
    return int.from_bytes(body, "big")


# ----- collections and paging -----------------------------------------------------------
@dataclass
class Collection:
    """A Graph entity set the engine can page, filter, search and sort."""

    entity_set: str  # for @odata.context, e.g. "users" or "deviceManagement/managedDevices"
    entity_type: str  # for error messages, e.g. "microsoft.graph.user"
    size: int
    item: Callable[[int], Item]
    properties: frozenset[str]
    light: Callable[[int], Item] | None = None  # cheap subset for scans of big collections
    light_keys: frozenset[str] = frozenset()
    default_select: tuple[str, ...] | None = None
    default_top: int = 100
    max_top: int = 999
    clamp_top: bool = False  # Intune silently caps $top; the directory refuses
    directory: bool = True  # advanced-query rules (ConsistencyLevel) apply
    skip_supported: bool = False
    cache_key: tuple[Any, ...] | None = None  # enables caching of sorted orders
    # Every item is a function of cache_key alone (not of the clock): serialized pages may be
    # kept (simulator.graph.pagecache).
    pages_cacheable: bool = False
    # Properties a directory collection sorts by without advanced mode (users: displayName
    # and userPrincipalName); any other $orderby needs ConsistencyLevel and $count=true.
    default_orderby: frozenset[str] = frozenset()
    # Navigation properties $expand serves: name -> the expanded value for one item.
    expansions: Mapping[str, Callable[[Item], Any]] = field(default_factory=dict)


@dataclass
class Page:
    items: list[Item]
    next_position: int | None
    count: int | None


_ORDER_CACHE: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()
_ORDER_LOCK = threading.Lock()


def _sort_key(value: Any) -> tuple[int, Any]:
    # None sorts first, like Graph; strings case-insensitively.
    if value is None:
        return (0, "")
    return (1, value.casefold() if isinstance(value, str) else value)


def _order(coll: Collection, orderby: list[tuple[str, bool]]) -> list[int] | range:
    if not orderby:
        return range(coll.size)
    key = (*coll.cache_key, coll.size, tuple(orderby)) if coll.cache_key else None
    if key is not None:
        with _ORDER_LOCK:
            if key in _ORDER_CACHE:
                _ORDER_CACHE.move_to_end(key)
                return _ORDER_CACHE[key]
    names = {name for name, _ in orderby}
    fetch = coll.light if coll.light and names <= coll.light_keys else coll.item
    rows = [fetch(i) for i in range(coll.size)]
    order = list(range(coll.size))
    for name, descending in reversed(orderby):  # stable sorts, last key first
        order.sort(key=lambda i, n=name: _sort_key(rows[i].get(n)), reverse=descending)
    if key is not None:
        with _ORDER_LOCK:
            _ORDER_CACHE[key] = order
            while len(_ORDER_CACHE) > 16:
                _ORDER_CACHE.popitem(last=False)
    return order


def check_properties(coll: Collection, names: Iterable[str]) -> None:
    for name in names:
        if name not in coll.properties and not name.startswith("@odata."):
            raise ODataError(
                f"Could not find a property named '{name}' on type '{coll.entity_type}'."
            )


def page_size(coll: Collection, opts: QueryOptions) -> int:
    if opts.top is None:
        return coll.default_top
    if coll.clamp_top:
        return max(1, min(opts.top, coll.max_top))
    if not 1 <= opts.top <= coll.max_top:
        raise ODataError(
            f"Invalid page size specified: '{opts.top}'. Must be between 1 and {coll.max_top} "
            "inclusive.",
            code="Request_UnsupportedQuery" if coll.directory else "Request_BadRequest",
        )
    return opts.top


def check_advanced(coll: Collection, opts: QueryOptions, *, eventual: bool) -> None:
    """Refuse, with Graph's words, what directory objects serve in advanced mode only."""
    if not coll.directory:
        return
    if opts.search is not None and not eventual:
        raise ODataError(SEARCH_NEEDS_HEADER, code="Request_UnsupportedQuery")
    for op in opts.advanced_operators():
        if not eventual:
            raise ODataError(NO_HEADER.format(op=op), code="Request_UnsupportedQuery")
        if not opts.count:
            raise ODataError(NO_COUNT.format(op=op), code="Request_UnsupportedQuery")
    advanced = eventual and opts.count
    if opts.orderby and not advanced:
        names = {name for name, _ in opts.orderby}
        if opts.filter is not None or not names <= coll.default_orderby:
            raise ODataError(SORTING_UNSUPPORTED, code="Request_UnsupportedQuery")


def check_expand(coll: Collection, opts: QueryOptions) -> None:
    for name in opts.expand:
        if name.split("(", 1)[0] not in coll.expansions:
            raise ODataError(
                "Parsing OData Select and Expand failed: Could not find a property named "
                f"'{name}' on type '{coll.entity_type}'."
            )


def validate(coll: Collection, opts: QueryOptions, *, eventual: bool) -> None:
    """Refuse what Graph refuses for this collection before any scan starts."""
    if opts.skip and not coll.skip_supported:
        raise ODataError("'$skip' is not supported by the service.")
    check_advanced(coll, opts, eventual=eventual)
    if coll.directory and opts.filter is not None and "contains" in filter_operators(opts.filter):
        raise ODataError("Unsupported Query.", code="Request_UnsupportedQuery")
    check_properties(coll, opts.properties_used())
    check_properties(coll, opts.select or [])
    check_expand(coll, opts)
    page_size(coll, opts)


def project(
    coll: Collection, item: Item, select: list[str] | None, expand: list[str] | None = None
) -> Item:
    keep = select or coll.default_select
    if keep is None:
        out = dict(item)
    else:
        out = {k: v for k, v in item.items() if k.startswith("@odata.")}
        for name in keep:
            out[name] = item.get(name)
    for name in expand or []:
        key = name.split("(", 1)[0]
        out[key] = coll.expansions[key](item)
    return out


def run_query(coll: Collection, opts: QueryOptions, *, eventual: bool, position: int) -> Page:
    """One page of `coll` from `position` (an index into the filtered, sorted order)."""
    validate(coll, opts, eventual=eventual)
    size = page_size(coll, opts)
    # @odata.count is on the first page only; the pages behind nextLink leave it out.
    want_count = opts.count and (eventual or not coll.directory) and position == 0
    if position == 0 and opts.skip:
        position = opts.skip
    order = _order(coll, opts.orderby)

    if opts.filter is None and opts.search is None:
        indexes = list(order[position : position + size])
        nxt = position + size if position + size < len(order) else None
        items = [project(coll, coll.item(i), opts.select, opts.expand) for i in indexes]
        return Page(items, nxt, len(order) if want_count else None)

    used = opts.properties_used()
    fetch = coll.light if coll.light and used <= coll.light_keys else coll.item
    node, groups = opts.filter, opts.search

    def matches(i: int) -> bool:
        row = fetch(i)
        if node is not None and not evaluate(node, row):
            return False
        return groups is None or search_matches(groups, row)

    picked: list[int] = []
    nxt: int | None = None
    total = 0
    # One pass: the page starts at `position`; the first match past it starts the next page.
    # Without $count the scan stops there; with it, it runs over everything to count.
    for pos in range(0 if want_count else position, len(order)):
        i = order[pos]
        if not matches(i):
            continue
        total += 1
        if pos < position:
            continue
        if len(picked) < size:
            picked.append(i)
        elif nxt is None:
            nxt = pos
            if not want_count:
                break
    count = total if want_count else None
    items = [project(coll, coll.item(i), opts.select, opts.expand) for i in picked]
    return Page(items, nxt, count)


def count_only(coll: Collection, opts: QueryOptions) -> int:
    """The number of items `/collection/$count` reports (filter and search applied)."""
    opts.count = True  # the $count segment is itself the count advanced mode asks for
    validate(coll, opts, eventual=True)
    if opts.filter is None and opts.search is None:
        return coll.size
    used = opts.properties_used()
    fetch = coll.light if coll.light and used <= coll.light_keys else coll.item
    total = 0
    for i in range(coll.size):
        row = fetch(i)
        if opts.filter is not None and not evaluate(opts.filter, row):
            continue
        if opts.search is None or search_matches(opts.search, row):
            total += 1
    return total
