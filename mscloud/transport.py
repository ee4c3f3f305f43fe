"""One HTTP call with retries, timeouts and typed errors, shared by the Graph and PC clients."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .errors import ErrorFamily, ErrorKind, MicrosoftError
from .http import EndpointRefused
from .pacing import Call, Gate
from .retry import GATEWAY_STATUSES, RETRY_LATER_STATUSES, RetryPolicy, parse_retry_after

TimeoutSpec = float | tuple[float, float]


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt, as observers see it: no URL query, no headers but the sent id."""

    service: str  # "graph" or "partnercenter"
    method: str
    host: str
    path: str
    status: int | None  # None: no answer (connection error, timeout)
    seconds: float
    attempt: int
    sent_id: str | None


_observers: list[Callable[[Attempt], None]] = []


def observe_attempts(observer: Callable[[Attempt], None]) -> None:
    """Call `observer` after every attempt of every client (metrics); once per observer."""
    if observer not in _observers:
        _observers.append(observer)


class Transport:
    def __init__(
        self,
        *,
        session: requests.Session,
        errors: ErrorFamily,
        timeout: TimeoutSpec,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        logger: logging.Logger,
        gate: Gate | None = None,
    ) -> None:
        self.session = session
        self.gate = gate  # Microsoft's budgets, shared with other clients (mscloud.pacing)
        self.errors = errors
        self.timeout = timeout
        self.policy = policy
        self.sleep = sleep
        self.rng = rng or random.Random()  # jitter, not secrecy
        self.logger = logger
        self.service = logger.name.rpartition(".")[2]

    def send(
        self,
        method: str,
        url: str,
        *,
        token: Callable[[], str],
        headers: Mapping[str, str],
        json: Any = None,
        idempotent: bool,
        on_unauthorized: Callable[[], str | None] | None = None,
        calls: Sequence[Call] = (),
    ) -> requests.Response:
        """Send until success, a final error, or the attempt budget is spent.

        `calls` are what Microsoft counts against its budgets for this request (the items of
        a $batch); each attempt is admitted by the gate first, and a Retry-After is told to
        it, so other clients of the same budgets wait too."""
        bearer = token()
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            if self.gate is not None and calls:
                over = self.gate.admit(calls, max_wait=self.policy.max_retry_after)
                if over is not None:
                    # Another client was told to wait, or the budget is spent for longer
                    # than a call may wait: the same answer Microsoft would give, unsent.
                    raise self.errors.build(429, None, headers, retry_after=over)
            sent = {**headers, "Authorization": f"Bearer {bearer}"}
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=sent,
                    json=json,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                self._log(method, url, "error", started, attempt, headers, exc)
                retry = _safe_to_resend(exc, idempotent) and attempt < self.policy.max_attempts
                if not retry:
                    raise self._from_exception(exc, headers) from exc
                self.sleep(self.policy.backoff(attempt, self.rng))
                continue
            self._log(method, url, response.status_code, started, attempt, headers)
            status = response.status_code

            if status == 401 and on_unauthorized is not None and not refreshed:
                # One refresh per call: a second 401 is a real authorization failure.
                refreshed = True
                fresh = on_unauthorized()
                if fresh:
                    bearer = fresh
                    attempt -= 1
                    response.close()
                    continue

            if status in RETRY_LATER_STATUSES or (status in GATEWAY_STATUSES and idempotent):
                wait = parse_retry_after(response.headers.get("Retry-After"))
                if wait is not None and self.gate is not None and calls:
                    self.gate.hold(calls, wait)
                if wait is not None and wait > self.policy.max_retry_after:
                    # Not worth holding a worker or a page render: let the caller say when.
                    raise self.error_for(response, headers, retry_after=wait)
                if attempt >= self.policy.max_attempts:
                    if wait is None and status == 429:
                        wait = self.policy.backoff_ceiling(attempt + 1)
                    raise self.error_for(response, headers, retry_after=wait)
                response.close()
                self.sleep(wait if wait is not None else self.policy.backoff(attempt, self.rng))
                continue

            if status >= 300:
                raise self.error_for(response, headers)
            return response

    def error_for(
        self,
        response: requests.Response,
        sent_headers: Mapping[str, str],
        *,
        retry_after: float | None = None,
    ) -> MicrosoftError:
        try:
            body = response.json()
        except ValueError:
            body = None
        # What we sent (client-request-id, MS-RequestId) identifies the call if the answer doesn't.
        headers = CaseInsensitiveDict(sent_headers)
        headers.update(response.headers)
        return self.errors.build(response.status_code, body, headers, retry_after=retry_after)

    def _from_exception(
        self, exc: requests.RequestException, sent_headers: Mapping[str, str]
    ) -> MicrosoftError:
        service = self.errors.base.service
        request_id = next(
            (sent_headers[h] for h in self.errors.request_id_headers if h in sent_headers), None
        )
        if isinstance(exc, EndpointRefused):
            return self.errors.base(
                str(exc), request_id=request_id, kind=ErrorKind.ENDPOINT_REFUSED
            )
        if isinstance(exc, requests.exceptions.SSLError):
            return self.errors.unavailable(
                f"The TLS certificate of {service} could not be verified. "
                "Check the CA bundle setting.",
                request_id=request_id,
            )
        if isinstance(exc, requests.Timeout):
            return self.errors.timeout(
                f"{service} did not answer in time. Try again in a minute.",
                request_id=request_id,
            )
        if isinstance(exc, requests.ConnectionError):
            return self.errors.unavailable(
                f"{service} could not be reached. Try again in a minute.",
                request_id=request_id,
            )
        return self.errors.base(f"The call to {service} failed.", request_id=request_id)

    def _log(
        self,
        method: str,
        url: str,
        outcome: object,
        started: float,
        attempt: int,
        sent_headers: Mapping[str, str],
        exc: Exception | None = None,
    ) -> None:
        # The path only: query strings carry filters (names, e-mail addresses) and skiptokens.
        parts = urlsplit(url)
        path = parts.path
        seconds = time.monotonic() - started
        elapsed_ms = seconds * 1000
        sent_id = next(
            (sent_headers[h] for h in self.errors.request_id_headers if h in sent_headers), None
        )
        seen = Attempt(
            service=self.service,
            method=method,
            host=parts.netloc,
            path=path,
            status=outcome if isinstance(outcome, int) else None,
            seconds=seconds,
            attempt=attempt,
            sent_id=sent_id,
        )
        for observer in _observers:
            try:
                observer(seen)
            except Exception:  # metrics must never break a call
                self.logger.exception("A call observer failed")
        if not self.logger.isEnabledFor(logging.INFO):
            return
        # One line per attempt, with the id we sent (client-request-id to Graph, MS-RequestId to
        # Partner Center) next to the portal's request id (added by portal's log filter): what a
        # Microsoft support case asks for. Set the "mscloud" logger to WARNING to silence them.
        reason = f" ({type(exc).__name__})" if exc is not None else ""
        self.logger.info(
            "%s %s -> %s%s in %.0f ms (attempt %d)",
            method,
            path,
            outcome,
            reason,
            elapsed_ms,
            attempt,
            extra={
                "service": self.service,
                "http_method": method,
                "path": path,
                "status": seen.status,
                "elapsed_ms": round(elapsed_ms),
                "attempt": attempt,
                "client_request_id": sent_id,
            },
        )


def _safe_to_resend(exc: requests.RequestException, idempotent: bool) -> bool:
    if isinstance(exc, EndpointRefused):
        return False  # a redirect or a refused address is the same on the next attempt
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # a certificate problem does not fix itself
    if _never_sent(exc):
        return True
    # A read timeout may mean a slow backend, not a lost request: waiting through it again is
    # worse for a page render than telling the user. Other broken connections retry when safe.
    if isinstance(exc, requests.Timeout):
        return False
    return isinstance(exc, requests.ConnectionError) and idempotent


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never established, so not even a POST reached the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def json_object(response: requests.Response, *, error: type[MicrosoftError], service: str) -> dict:
    """The JSON object a response carries ({} when empty); `error` when it carries none."""
    if response.status_code == 204 or not response.content:
        return {}
    try:
        # Partner Center may prefix its JSON with a UTF-8 byte order mark; Graph never does.
        body = json.loads(response.content.decode("utf-8-sig"))
    except ValueError:
        raise error(
            f"{service} answered with something that is not JSON.", status=response.status_code
        ) from None
    if not isinstance(body, dict):
        raise error(f"{service} answered with unexpected JSON.")
    return body
