"""The portal's list tables: which columns a table has, which of them sort and how, and the
sort asked for in the URL (?sort=name&dir=desc), read once and checked against the table.

A table is declared once (customers/tables.py, compliance/tables.py) and registered here by
name, so the column chooser's one POST view knows every table without importing its app.
Sorting is server-side: a database column (`order_by`) or a Graph property (`orderby`) that
Graph sorts by; a column with neither cannot be sorted, and its table says why (`unsortable`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

ASC = "asc"
DESC = "desc"


@dataclass(frozen=True)
class Column:
    key: str  # in the URL (?sort=key) and in the stored choice of columns
    label: str
    order_by: tuple[str, ...] = ()  # database sort (QuerySet.order_by fields), ascending
    orderby: str = ""  # Graph $orderby property
    default: bool = True  # shown until the user chooses
    required: bool = False  # always shown (the column that links to the object)

    @property
    def sortable(self) -> bool:
        return bool(self.order_by or self.orderby)


@dataclass(frozen=True)
class Table:
    name: str  # the key of the user's stored choice; at most 40 characters
    columns: tuple[Column, ...]
    default_sort: str = ""  # a sortable column's key, or "" (the source's own order)
    default_dir: str = ASC
    unsortable: str = ""  # one sentence: why the other columns do not sort
    tiebreak: tuple[str, ...] = ()  # database fields that make the order total (paging)

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def shown(self, chosen: Sequence[str] | None) -> list[Column]:
        """The columns to render: the user's choice (unknown keys ignored) or the defaults,
        and the required ones whatever was chosen, in the table's order."""
        wanted = set(chosen) if chosen else {c.key for c in self.columns if c.default}
        return [c for c in self.columns if c.required or c.key in wanted]

    def sort_of(self, params: Mapping[str, str]) -> Sort:
        """The sort asked for, if this table sorts by it; else its default sort."""
        key = str(params.get("sort", ""))[:40]
        direction = DESC if params.get("dir") == DESC else ASC
        column = self.column(key)
        if column is None or not column.sortable:
            key, direction = self.default_sort, self.default_dir
            column = self.column(key)
        return Sort(key=key if column else "", direction=direction, column=column, table=self)


@dataclass(frozen=True)
class Sort:
    key: str
    direction: str
    column: Column | None
    table: Table

    @property
    def descending(self) -> bool:
        return self.direction == DESC

    def order_by(self) -> list[str]:
        """QuerySet.order_by() arguments: the column's fields, then the table's tiebreak."""
        fields = list(self.column.order_by) if self.column else []
        signed = [f"-{f}" if self.descending else f for f in fields]
        return signed + [f for f in self.table.tiebreak if f not in fields]

    def graph_orderby(self) -> str:
        """The Graph $orderby value ("displayName desc"), or "" when Graph does not sort."""
        if self.column is None or not self.column.orderby:
            return ""
        return f"{self.column.orderby} desc" if self.descending else self.column.orderby

    def params(self) -> dict[str, str]:
        """What keeps this sort in a link (none for the table's default sort)."""
        if self.key == self.table.default_sort and self.direction == self.table.default_dir:
            return {}
        return {"sort": self.key, "dir": self.direction}


@dataclass(frozen=True)
class Header:
    """One column's header as the template draws it."""

    column: Column
    href: str  # "" when the column does not sort
    aria_sort: str  # "ascending", "descending" or "none"; "" when it does not sort
    next_label: str  # what a click does, for screen readers


def headers(sort: Sort, shown: Sequence[Column], keep: Mapping[str, str]) -> list[Header]:
    """The header of each shown column: a link that sorts by it (the other way round when it
    is the current sort), keeping the table's filters and dropping the page."""
    out = []
    for column in shown:
        if not column.sortable:
            out.append(Header(column, "", "", ""))
            continue
        current = column.key == sort.key
        direction = ASC if (not current or sort.descending) else DESC
        query = {k: v for k, v in keep.items() if v} | {"sort": column.key, "dir": direction}
        aria = ("descending" if sort.descending else "ascending") if current else "none"
        word = "descending" if direction == DESC else "ascending"
        out.append(Header(column, "?" + urlencode(query), aria, f"sort by {column.label}, {word}"))
    return out


@dataclass
class TableView:
    """Everything a table template needs: the columns shown, their headers, the chooser."""

    table: Table
    sort: Sort
    shown: list[Column]
    headers: list[Header]
    keep: dict[str, str] = field(default_factory=dict)  # filters + sort, for links

    @property
    def shown_keys(self) -> list[str]:
        return [c.key for c in self.shown]

    @property
    def query(self) -> str:
        return urlencode({k: v for k, v in self.keep.items() if v})

    @property
    def sort_only(self) -> str:
        """The sort without the filters: the link that clears a search or a filter."""
        return urlencode({k: v for k, v in self.keep.items() if v and k in ("sort", "dir")})

    @property
    def width(self) -> int:
        """Columns of a row (an empty state's colspan), a selection column included."""
        return len(self.shown) + (1 if self.selectable else 0)

    selectable: bool = False


def table_view(
    table: Table,
    params: Mapping[str, str],
    chosen: Sequence[str] | None,
    filters: Mapping[str, str],
) -> TableView:
    sort = table.sort_of(params)
    shown = table.shown(chosen)
    keep = {**{k: v for k, v in filters.items() if v}, **sort.params()}
    return TableView(
        table=table,
        sort=sort,
        shown=shown,
        headers=headers(sort, shown, dict(filters)),
        keep=keep,
    )


TABLES: dict[str, Table] = {}


def table_register(table: Table) -> Table:
    if len(table.name) > 40:
        raise ValueError(f"Table name {table.name!r} is longer than 40 characters.")
    if table.default_sort:
        column = table.column(table.default_sort)
        if column is None or not column.sortable:
            raise ValueError(f"{table.name}: the default sort must be a sortable column.")
    TABLES[table.name] = table
    return table
