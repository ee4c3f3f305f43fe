"""OData query options as Graph understands them: parsing, validation and paging.

Reference: https://learn.microsoft.com/graph/query-parameters
Reference: https://learn.microsoft.com/graph/aad-advanced-queries
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

EVENTUAL_MESSAGE = (
    "{what} requires the ConsistencyLevel header set to 'eventual'. "
    "Add the header 'ConsistencyLevel: eventual' and retry."
)


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
    skiptoken: str | None = None

    def properties_used(self) -> set[str]:
        used = {name for name, _ in self.orderby}
        if self.filter is not None:
            used |= filter_properties(self.filter)
        for group in self.search or []:
            used |= {prop for prop, _ in group}
        return used

    def advanced_features(self) -> list[str]:
        """Features Graph only serves to directory clients that send ConsistencyLevel."""
        features = []
        if self.search is not None:
            features.append("$search")
        if self.filter is not None:
            ops = filter_operators(self.filter)
            features += [f"'{op}' in $filter" for op in ("ne", "not", "endswith") if op in ops]
        return features


def parse_options(args: Mapping[str, str]) -> QueryOptions:
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
            "inclusive."
        )
    return opts.top


def validate(coll: Collection, opts: QueryOptions, *, eventual: bool) -> None:
    """Refuse what Graph refuses for this collection before any scan starts."""
    if opts.skip and not coll.skip_supported:
        raise ODataError("'$skip' is not supported by the service.")
    if coll.directory and not eventual:
        features = opts.advanced_features()
        if features:
            raise ODataError(
                EVENTUAL_MESSAGE.format(what=features[0].capitalize()),
                code="Request_UnsupportedQuery",
            )
    if coll.directory and opts.filter is not None and "contains" in filter_operators(opts.filter):
        raise ODataError("Unsupported Query.", code="Request_UnsupportedQuery")
    check_properties(coll, opts.properties_used())
    check_properties(coll, opts.select or [])
    page_size(coll, opts)


def project(coll: Collection, item: Item, select: list[str] | None) -> Item:
    keep = select or coll.default_select
    if keep is None:
        return dict(item)
    out = {k: v for k, v in item.items() if k.startswith("@odata.")}
    for name in keep:
        out[name] = item.get(name)
    return out


def run_query(coll: Collection, opts: QueryOptions, *, eventual: bool, position: int) -> Page:
    """One page of `coll` from `position` (an index into the filtered, sorted order)."""
    validate(coll, opts, eventual=eventual)
    size = page_size(coll, opts)
    if position == 0 and opts.skip:
        position = opts.skip
    want_count = opts.count and (eventual or not coll.directory)
    order = _order(coll, opts.orderby)

    if opts.filter is None and opts.search is None:
        indexes = list(order[position : position + size])
        nxt = position + size if position + size < len(order) else None
        items = [project(coll, coll.item(i), opts.select) for i in indexes]
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
    items = [project(coll, coll.item(i), opts.select) for i in picked]
    return Page(items, nxt, count)


def count_only(coll: Collection, opts: QueryOptions) -> int:
    """The number of items `/collection/$count` reports (filter and search applied)."""
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
