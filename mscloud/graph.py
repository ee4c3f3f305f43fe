"""Microsoft Graph client: paging, $batch, Retry-After and typed errors over one pooled session."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import requests

from .batch import BatchRequest, BatchResponse, parse_batch_responses, retryable_ids
from .errors import GRAPH_ERRORS, GraphError
from .pacing import Call, Gate, call_of
from .retry import RetryPolicy, parse_retry_after
from .transport import TimeoutSpec, Transport, json_object

logger = logging.getLogger("mscloud.graph")

EVENTUAL = {"ConsistencyLevel": "eventual"}
BATCH_LIMIT = 20  # Graph rejects a $batch with more requests

__all__ = ["BATCH_LIMIT", "EVENTUAL", "BatchRequest", "BatchResponse", "GraphClient", "Page"]


@dataclass(frozen=True)
class Page:
    items: list[dict]
    next_skiptoken: str | None
    count: int | None = None


def _new_request_id() -> str:
    # A new GUID for every call, as Microsoft asks; the call's log line (mscloud.calls) puts it
    # next to the portal's request id (or the Celery task id) that caused the call.
    # Reference: https://learn.microsoft.com/en-us/graph/best-practices-concept#reliability-and-support
    return str(uuid.uuid4())


class GraphClient:
    """Calls Microsoft Graph for one tenant with one token source.

    `token` is a string or a callable returning a current access token (called once per call).
    `on_unauthorized`, when given, is called once per call on a 401; it returns a fresh token to
    retry with (e.g. after dropping the cached one) or None to give up with GraphUnauthorized.
    """

    # Reference: https://learn.microsoft.com/en-us/graph/errors
    # Reference: https://learn.microsoft.com/en-us/graph/paging
    # Reference: https://learn.microsoft.com/en-us/graph/json-batching
    # Reference: https://learn.microsoft.com/en-us/graph/throttling
    # Reference: https://learn.microsoft.com/en-us/graph/aad-advanced-queries

    def __init__(
        self,
        *,
        base_url: str,
        token: str | Callable[[], str],
        session: requests.Session,
        version: str = "v1.0",
        timeout: TimeoutSpec = (3.05, 20),
        max_attempts: int = 4,
        max_retry_after: float = 30,
        sleep: Callable[[float], None] = time.sleep,
        request_id_factory: Callable[[], str] = _new_request_id,
        on_unauthorized: Callable[[], str | None] | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        rng: random.Random | None = None,
        gate: Gate | None = None,
    ) -> None:
        base = urlsplit(base_url.rstrip("/"))
        if base.scheme not in ("https", "http") or not base.hostname or base.query:
            raise ValueError("base_url must be an absolute http(s) URL without a query")
        if not version or "/" in version:
            raise ValueError("version must be a single path segment such as 'v1.0'")
        self._base = base
        self._root = f"{base_url.rstrip('/')}/{version}"
        self._root_path = f"{base.path}/{version}/"
        self._token = token if callable(token) else (lambda: token)
        self._on_unauthorized = on_unauthorized
        self._request_id = request_id_factory
        self._policy = RetryPolicy(
            max_attempts=max_attempts,
            max_retry_after=max_retry_after,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
        )
        self._transport = Transport(
            session=session,
            errors=GRAPH_ERRORS,
            timeout=timeout,
            policy=self._policy,
            sleep=sleep,
            rng=rng,
            logger=logger,
            gate=gate,
        )

    # -- single calls -------------------------------------------------------------------------

    def get(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        eventual: bool = False,
    ) -> dict:
        return self._call("GET", self.url(path, params), headers=_with(headers, eventual))

    def post(
        self,
        path: str,
        json: Any,
        *,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
    ) -> dict:
        """POST; after a gateway error or a dropped connection it is resent only if idempotent."""
        return self._call("POST", self.url(path), headers=headers, json=json, idempotent=idempotent)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> dict:
        """Any other method (PATCH, DELETE, …); an empty answer (204) is {}."""
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD", "PUT", "DELETE")
        return self._call(
            method.upper(),
            self.url(path, params),
            headers=headers,
            json=json,
            idempotent=idempotent,
        )

    # -- paging -------------------------------------------------------------------------------

    def get_page(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        skiptoken: str | None = None,
        eventual: bool = False,
    ) -> Page:
        """One page; pass the previous page's `next_skiptoken` (and the same params) for the next.

        The portal keeps only the skiptoken in its own URLs and rebuilds the rest from its query.
        """
        query = dict(params or {})
        if skiptoken is not None:
            query["$skiptoken"] = skiptoken
        body = self._call("GET", self.url(path, query), headers=_with(headers, eventual))
        next_link = body.get("@odata.nextLink")
        return Page(
            items=list(body.get("value") or []),
            next_skiptoken=self.skiptoken_from_next_link(next_link) if next_link else None,
            count=body.get("@odata.count"),
        )

    def iter_items(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        max_items: int | None = None,
        eventual: bool = False,
    ) -> Iterator[dict]:
        """Every item of a collection, following @odata.nextLink (only back to our own Graph)."""
        if max_items is not None and max_items <= 0:
            return
        sent_headers = _with(headers, eventual)  # ConsistencyLevel is not carried by nextLink
        url: str | None = self.url(path, params)
        seen: set[str] = set()
        yielded = 0
        while url:
            seen.add(url)
            body = self._call("GET", url, headers=sent_headers)
            for item in body.get("value") or []:
                yield item
                yielded += 1
                if max_items is not None and yielded >= max_items:
                    return
            url = body.get("@odata.nextLink")
            if url:
                self._check_next_link(url)
                if url in seen:
                    raise GraphError("Microsoft Graph returned the same page link twice.")

    def skiptoken_from_next_link(self, next_link: str) -> str:
        """The $skiptoken of a nextLink, after checking that it points back to our Graph."""
        self._check_next_link(next_link)
        values = parse_qs(urlsplit(next_link).query, keep_blank_values=True).get("$skiptoken")
        if not values or len(values) != 1 or not values[0]:
            raise GraphError("The next-page link from Microsoft Graph has no $skiptoken.")
        return values[0]

    def _check_next_link(self, link: str) -> None:
        # A nextLink is followed with our bearer token: never to anywhere but our own Graph.
        try:
            parts = urlsplit(link)
            port, base_port = parts.port, self._base.port
        except ValueError:
            raise GraphError("Microsoft Graph returned a malformed next-page link.") from None
        default = {"https": 443, "http": 80}
        same_origin = (
            parts.scheme.lower() == self._base.scheme.lower()
            and (parts.hostname or "") == (self._base.hostname or "")
            and (port or default.get(parts.scheme.lower()))
            == (base_port or default.get(self._base.scheme.lower()))
            and parts.username is None
            and parts.password is None
        )
        if not same_origin or not parts.path.startswith(self._root_path):
            raise GraphError("Refused a next-page link that points outside Microsoft Graph.")

    # -- $batch -------------------------------------------------------------------------------

    def batch(self, requests: Sequence[BatchRequest]) -> dict[str, BatchResponse]:
        """Run requests through /$batch in chunks of 20; items throttled inside are retried.

        Per-item failures are returned, not raised: call `.raise_for_status()` on the ones you
        need. Items still throttled after the budget keep their 429 (with retry_after).
        """
        ids = [r.id for r in requests]
        if len(set(ids)) != len(ids):
            raise ValueError("batch request ids must be unique")
        chunks = [list(requests[i : i + BATCH_LIMIT]) for i in range(0, len(requests), BATCH_LIMIT)]
        for chunk in chunks:  # all checked before anything is sent
            in_chunk = {r.id for r in chunk}
            for r in chunk:
                if not set(r.depends_on) <= in_chunk:
                    raise ValueError(f"request {r.id} depends on a request outside its chunk of 20")
        results: dict[str, BatchResponse] = {}
        for chunk in chunks:
            results.update(self._batch_chunk(chunk))
        return results

    def _batch_chunk(self, chunk: list[BatchRequest]) -> dict[str, BatchResponse]:
        by_id = {r.id: r for r in chunk}
        pending = chunk
        results: dict[str, BatchResponse] = {}
        for attempt in range(1, self._policy.max_attempts + 1):
            pending_ids = {r.id for r in pending}
            payload = {"requests": [r.as_json(keep=pending_ids) for r in pending]}
            body = self._call(
                "POST",
                self.url("/$batch"),
                json=payload,
                idempotent=all(r.method.upper() == "GET" for r in pending),
                calls=[call_of(r.method, r.url) for r in pending],
            )
            answers = parse_batch_responses(body, expected=pending_ids)
            results.update(answers)
            again = retryable_ids(answers, by_id)
            if not again or attempt == self._policy.max_attempts:
                break
            waits = [parse_retry_after(answers[i].headers.get("Retry-After")) for i in again]
            known = [w for w in waits if w is not None]
            wait = max(known) if known else self._policy.backoff(attempt, self._transport.rng)
            if known and self._transport.gate is not None:
                # Their services said wait: other clients of the same budgets wait too.
                self._transport.gate.hold(
                    [call_of(by_id[i].method, by_id[i].url) for i in again], max(known)
                )
            if wait > self._policy.max_retry_after:
                break  # the items keep their 429; raise_for_status carries retry_after
            self._transport.sleep(wait)
            pending = [by_id[i] for i in by_id if i in again]
        return results

    # -- plumbing -----------------------------------------------------------------------------

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """Absolute URL for a Graph path such as "/users" plus OData query parameters."""
        if "://" in path or path.startswith("//") or "?" in path or "#" in path:
            raise ValueError("path must be a Graph path; pass query options as params")
        url = f"{self._root}/{path.lstrip('/')}"
        if params:
            # Keep "$" and "," readable, as Graph's own examples do; everything else is encoded.
            url += "?" + urlencode(dict(params), quote_via=quote, safe="$,")
        return url

    def _call(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool = True,
        calls: Sequence[Call] | None = None,
    ) -> dict:
        if calls is None:
            calls = [call_of(method, self._relative(url))]
        sent = {
            "Accept": "application/json",
            "client-request-id": self._request_id(),
            "return-client-request-id": "true",
            **(headers or {}),
        }
        response = self._transport.send(
            method,
            url,
            token=self._token,
            headers=sent,
            json=json,
            idempotent=idempotent,
            on_unauthorized=self._on_unauthorized,
            calls=calls,
        )
        return json_object(response, error=GraphError, service="Microsoft Graph")

    def _relative(self, url: str) -> str:
        """The path of one of our URLs below the version root ("/users"), as Graph counts it."""
        path = urlsplit(url).path
        if path.startswith(self._root_path):
            return "/" + path[len(self._root_path) :]
        return path


def _with(headers: Mapping[str, str] | None, eventual: bool) -> dict[str, str]:
    merged = dict(headers or {})
    if eventual:
        merged.update(EVENTUAL)
    return merged
