"""$filter and $search: parsing into small trees and evaluating them against items.

Reference: https://learn.microsoft.com/graph/filter-query-parameter
Reference: https://learn.microsoft.com/graph/search-query-parameter
"""

from __future__ import annotations

import functools
import re
from typing import Any

from simulator.graph.errors import ODataError

Item = dict[str, Any]
Node = tuple[Any, ...]


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
        extra = self.peek()
        if extra is not None:
            raise ODataError(f"Invalid filter clause: unexpected '{extra[1]}'.")
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
        while (token := self.peek()) is not None and token[1] == "/":
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


@functools.lru_cache(maxsize=256)
def _term_patterns(term: str) -> tuple[re.Pattern[str], ...]:
    # Graph tokenizes the property and matches each word of the term as a word prefix;
    # "a word starts here" is "start of text or after a non-word character".
    parts = [p for p in _WORD_SPLIT.split(term) if p]
    return tuple(re.compile(rf"(?:^|\W){re.escape(p)}", re.IGNORECASE) for p in parts)


def _search_match(value: Any, term: str) -> bool:
    if not isinstance(value, str):
        return False
    return all(pattern.search(value) for pattern in _term_patterns(term))


def search_matches(groups: list[list[tuple[str, str]]], item: Item) -> bool:
    return any(all(_search_match(item.get(p), t) for p, t in group) for group in groups)
