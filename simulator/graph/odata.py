"""OData query options as Graph understands them: parsing, evaluation and paging.

Reference: https://learn.microsoft.com/graph/query-parameters
Reference: https://learn.microsoft.com/graph/aad-advanced-queries
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Item = dict[str, Any]
Node = tuple[Any, ...]

EVENTUAL_MESSAGE = (
    "{what} requires the ConsistencyLevel header set to 'eventual'. "
    "Add the header 'ConsistencyLevel: eventual' and retry."
)


class ODataError(Exception):
    """A query Graph would refuse; rendered as a Graph error body with this code and status."""

    def __init__(self, message: str, code: str = "Request_BadRequest", status: int = 400) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


# ----- $filter --------------------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),:/])"
    r"|(?P<word>[A-Za-z_@$][\w.@$-]*)|(?P<num>[-+]?[0-9][0-9A-Za-z:.+\-]*))"
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"startswith", "endswith", "contains"}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos, text = [], 0, text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ODataError(f"Invalid filter clause: syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _literal(kind: str, raw: str) -> Any:
    if kind == "str":
        return raw[1:-1].replace("''", "'")
    if kind == "word":
        lowered = raw.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
    if kind == "num":
        try:
            return float(raw) if "." in raw and ":" not in raw else int(raw)
        except ValueError:
            return raw  # a date or datetime: compared as an ISO string
    raise ODataError(f"Invalid filter clause: '{raw}' is not a literal value.")


class _FilterParser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (expected is not None and token[1].lower() != expected):
            want = f"'{expected}'" if expected else "more input"
            raise ODataError(f"Invalid filter clause: expected {want}.")
        self.pos += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() in words:
            self.pos += 1
            return token[1].lower()
        return None

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            raise ODataError(f"Invalid filter clause: unexpected '{self.peek()[1]}'.")  # type: ignore[index]
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.keyword("or"):
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while self.keyword("and"):
            node = ("and", node, self.unary())
        return node

    def unary(self) -> Node:
        if self.keyword("not"):
            return ("not", self.unary())
        token = self.peek()
        if token and token[1] == "(":
            self.take("(")
            node = self.or_expr()
            self.take(")")
            return node
        if token and token[0] == "word" and token[1].lower() in _FUNCTIONS:
            nxt = self.peek(1)
            if nxt and nxt[1] == "(":
                return self.function()
        return self.comparison()

    def function(self) -> Node:
        name = self.take()[1].lower()
        self.take("(")
        path = self.path()
        self.take(",")
        kind, raw = self.take()
        self.take(")")
        return ("func", name, path, _literal(kind, raw))

    def path(self) -> tuple[str, ...]:
        kind, raw = self.take()
        if kind != "word":
            raise ODataError(f"Invalid filter clause: '{raw}' is not a property.")
        parts = [raw]
        while self.peek() and self.peek()[1] == "/":  # type: ignore[index]
            nxt = self.peek(1)
            if nxt and nxt[1].lower() == "any":
                break
            self.take("/")
            parts.append(self.take()[1])
        return tuple(parts)

    def comparison(self) -> Node:
        path = self.path()
        token = self.peek()
        if token and token[1] == "/":
            return self.any_lambda(path)
        op = self.keyword(*_COMPARE)
        if op is None:
            got = token[1] if token else "end of input"
            raise ODataError(f"Invalid filter clause: expected an operator, got '{got}'.")
        kind, raw = self.take()
        return ("cmp", op, path, _literal(kind, raw))

    def any_lambda(self, path: tuple[str, ...]) -> Node:
        # Only the form Graph documents for collections of strings: groupTypes/any(c:c eq 'x')
        self.take("/")
        self.take("any")
        self.take("(")
        var = self.take()[1]
        self.take(":")
        if self.take()[1] != var:
            raise ODataError("Invalid filter clause: lambda variable mismatch.")
        op = self.keyword(*_COMPARE)
        if op not in ("eq", "ne"):
            raise ODataError("Invalid filter clause: only eq and ne are supported in any().")
        kind, raw = self.take()
        self.take(")")
        return ("any", op, path, _literal(kind, raw))


def parse_filter(text: str) -> Node:
    return _FilterParser(text).parse()


def filter_properties(node: Node) -> set[str]:
    if node[0] in ("and", "or"):
        return filter_properties(node[1]) | filter_properties(node[2])
    if node[0] == "not":
        return filter_properties(node[1])
    return {node[2][0]}


def filter_operators(node: Node) -> set[str]:
    if node[0] in ("and", "or"):
        return {node[0]} | filter_operators(node[1]) | filter_operators(node[2])
    if node[0] == "not":
        return {"not"} | filter_operators(node[1])
    return {node[1]}


def _resolve(item: Item, path: tuple[str, ...]) -> Any:
    value: Any = item
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _norm(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _compare(op: str, left: Any, right: Any) -> bool:
    left, right = _norm(left), _norm(right)
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        if op == "gt":
            return left > right
        if op == "ge":
            return left >= right
        if op == "lt":
            return left < right
        return left <= right
    except TypeError:
        return False


def evaluate(node: Node, item: Item) -> bool:
    kind = node[0]
    if kind == "and":
        return evaluate(node[1], item) and evaluate(node[2], item)
    if kind == "or":
        return evaluate(node[1], item) or evaluate(node[2], item)
    if kind == "not":
        return not evaluate(node[1], item)
    _, op, path, literal = node
    value = _resolve(item, path)
    if kind == "cmp":
        return _compare(op, value, literal)
    if kind == "any":
        values = value if isinstance(value, list) else []
        hits = [_compare("eq", v, literal) for v in values]
        return any(hits) if op == "eq" else not all(hits) if hits else False
    if not isinstance(value, str) or not isinstance(literal, str):
        return False
    value, literal = value.casefold(), literal.casefold()
    if op == "startswith":
        return value.startswith(literal)
    if op == "endswith":
        return value.endswith(literal)
    return literal in value


# ----- $search --------------------------------------------------------------------------
_SEARCH_TOKEN = re.compile(r'\s*(?:"(?P<clause>[^"]*)"|(?P<op>AND|OR)\b)')
_WORD_SPLIT = re.compile(r"[^\w]+")


def parse_search(text: str) -> list[list[tuple[str, str]]]:
    """`"displayName:jo" OR "mail:jo"` -> OR of AND groups of (property, term)."""
    groups: list[list[tuple[str, str]]] = [[]]
    pos, text, expect_clause = 0, text.strip(), True
    while pos < len(text):
        match = _SEARCH_TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ODataError(
                f"Syntax error: character '{text[pos]}' is not valid at position {pos} "
                f"in '{text}'. Quote each clause, e.g. \"displayName:jo\"."
            )
        pos = match.end()
        if match.group("op"):
            if expect_clause:
                raise ODataError(f"Syntax error: unexpected '{match.group('op')}' in '{text}'.")
            if match.group("op") == "OR":
                groups.append([])
            expect_clause = True
            continue
        prop, sep, term = match.group("clause").partition(":")
        if not sep or not prop.strip() or not term.strip():
            raise ODataError(
                f"Syntax error: '{match.group('clause')}' must be \"property:term\", "
                'e.g. "displayName:jo".'
            )
        groups[-1].append((prop.strip(), term.strip()))
        expect_clause = False
    if expect_clause:
        raise ODataError(f"Syntax error: '{text}' is not a valid $search expression.")
    return groups


def _search_match(value: Any, term: str) -> bool:
    # Graph tokenizes the property and matches each term word as a word prefix.
    if not isinstance(value, str):
        return False
    words = [w for w in _WORD_SPLIT.split(value.casefold()) if w]
    return all(
        any(word.startswith(part) for word in words)
        for part in _WORD_SPLIT.split(term.casefold())
        if part
    )


def search_matches(groups: list[list[tuple[str, str]]], item: Item) -> bool:
    return any(all(_search_match(item.get(p), t) for p, t in group) for group in groups)


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
    # Scan from the page start; stop at the first match past the page (it starts the next
    # page) unless the caller asked for the total, which needs the whole scan.
    for pos in range(position, len(order)):
        i = order[pos]
        if not matches(i):
            continue
        if len(picked) < size:
            picked.append(i)
        else:
            nxt = pos
            break
    count = None
    if want_count:
        count = sum(1 for pos in range(len(order)) if matches(order[pos]))
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
