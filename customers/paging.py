"""Where a Graph page sits in its list ("26-50 of 3,000") and the way back to the one before.

Graph pages forward only: a skiptoken leads to the next page, never to the previous one. So
the tokens of the pages an agent went through are kept in their session, per list (tenant,
table, filters and sort), a few lists and pages at most; a page reached some other way (a
link from a colleague) has no known position and offers the first page only.
# Reference: https://learn.microsoft.com/graph/paging
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.sessions.backends.base import SessionBase

from mscloud.graph import Page

EN_DASH = "\u2013"
SESSION_KEY = "_graph_pages"
MAX_LISTS = 5
MAX_PAGES = 40  # beyond this the way back is "First page" (the session stays small)


@dataclass(frozen=True)
class Position:
    index: int | None  # the page's number from 0; None when not known
    start: int = 0
    end: int = 0
    count: int | None = None  # every item of the list, when Graph counted them
    previous: str | None = None  # the previous page's token, "" for the first page
    next: str | None = None

    @property
    def has_previous(self) -> bool:
        return self.previous is not None

    @property
    def text(self) -> str:
        """Where the page is, with an en dash: 26-50 of 3,000; 26-50 without a count."""
        if self.index is None or self.end < self.start:
            return f"{self.count:,} in all" if self.count is not None else ""
        span = f"{self.start:,}{EN_DASH}{self.end:,}"
        return f"{span} of {self.count:,}" if self.count is not None else span


def list_key(*, tenant_id: str, table: str, query: Mapping[str, str]) -> str:
    raw = json.dumps([tenant_id, table, sorted(query.items())], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def page_position(
    *, session: SessionBase, key: str, token: str | None, page: Page, page_size: int
) -> Position:
    """Record `page` (reached with `token`, None for the first) in its list and say where
    it is. Tokens come from our URL already checked (directory.clean_skiptoken) and are
    only ever compared with the ones Graph gave, never sent anywhere new."""
    lists: dict[str, dict] = dict(session.get(SESSION_KEY) or {})
    entry = lists.pop(key, None)
    if token is None:
        entry = {"tokens": [""], "count": page.count}
    elif entry is None or token not in entry.get("tokens", []):
        return Position(index=None, count=page.count, next=page.next_skiptoken)
    tokens: list[str] = list(entry["tokens"])
    index = tokens.index(token or "")
    del tokens[index + 1 :]  # later pages are read again from here
    if page.next_skiptoken and len(tokens) < MAX_PAGES:
        tokens.append(page.next_skiptoken)
    count = page.count if page.count is not None else entry.get("count")
    lists[key] = {"tokens": tokens, "count": count}
    while len(lists) > MAX_LISTS:
        lists.pop(next(iter(lists)))
    session[SESSION_KEY] = lists
    start = index * page_size + 1
    return Position(
        index=index,
        start=start,
        end=start + len(page.items) - 1,
        count=count,
        previous=tokens[index - 1] if index > 0 else None,
        next=page.next_skiptoken,
    )
