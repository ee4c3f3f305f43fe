"""Graph JSON batching: one request item, one response item, and which items to send again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from requests.structures import CaseInsensitiveDict

from .errors import GRAPH_ERRORS, GraphError
from .retry import GATEWAY_STATUSES, RETRY_LATER_STATUSES, parse_retry_after

# Reference: https://learn.microsoft.com/en-us/graph/json-batching


@dataclass(frozen=True)
class BatchRequest:
    id: str
    url: str  # relative to the version root, e.g. "/users/{id}?$select=id"
    method: str = "GET"
    headers: Mapping[str, str] | None = None
    body: Any = None
    depends_on: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a batch request needs an id")
        if "://" in self.url or self.url.startswith("//"):
            raise ValueError("batch request urls are relative to the Graph version root")

    def as_json(self, *, keep: set[str] | None = None) -> dict[str, Any]:
        """The wire form; dependencies outside `keep` (already answered) are left out."""
        item: dict[str, Any] = {"id": self.id, "method": self.method.upper(), "url": self.url}
        headers = dict(self.headers or {})
        if self.body is not None:
            item["body"] = self.body
            headers.setdefault("Content-Type", "application/json")
        if headers:
            item["headers"] = headers
        depends_on = [d for d in self.depends_on if keep is None or d in keep]
        if depends_on:
            item["dependsOn"] = depends_on
        return item


@dataclass(frozen=True)
class BatchResponse:
    id: str
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def raise_for_status(self) -> None:
        """Raise the typed Graph error for this item (GraphThrottled, GraphNotFound, …)."""
        if self.ok:
            return
        retry_after = None
        if self.status in RETRY_LATER_STATUSES:
            retry_after = parse_retry_after(self.headers.get("Retry-After"))
        raise GRAPH_ERRORS.build(self.status, self.body, self.headers, retry_after=retry_after)


def parse_batch_responses(body: dict, *, expected: set[str]) -> dict[str, BatchResponse]:
    items = body.get("responses")
    if not isinstance(items, list):
        raise GraphError("Microsoft Graph answered a $batch without responses.")
    answers: dict[str, BatchResponse] = {}
    for item in items:
        if not isinstance(item, dict) or str(item.get("id")) not in expected:
            raise GraphError("Microsoft Graph answered a $batch with an unknown item.")
        try:
            status = int(item.get("status"))
        except (TypeError, ValueError):
            raise GraphError("Microsoft Graph answered a $batch item without a status.") from None
        answers[str(item["id"])] = BatchResponse(
            id=str(item["id"]),
            status=status,
            headers=CaseInsensitiveDict(item.get("headers") or {}),
            body=item.get("body"),
        )
    if set(answers) != expected:
        raise GraphError("Microsoft Graph left items of a $batch unanswered.")
    return answers


def retryable_ids(
    answers: Mapping[str, BatchResponse], requests: Mapping[str, BatchRequest]
) -> set[str]:
    """Items to send again: throttled/unavailable ones, and those that failed because of them."""
    again = {
        i
        for i, a in answers.items()
        if a.status in RETRY_LATER_STATUSES
        or (a.status in GATEWAY_STATUSES and requests[i].method.upper() == "GET")
    }
    # 424 Failed Dependency: the item never ran because an item it depends on failed.
    grew = True
    while grew:
        grew = False
        for i, a in answers.items():
            if i not in again and a.status == 424 and set(requests[i].depends_on) & again:
                again.add(i)
                grew = True
    return again
