"""Partner Center client: the customers list (continuation paging), customer creation, and
application consent per customer (the Control Panel Vendor API)."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from .errors import PARTNER_CENTER_ERRORS, PartnerCenterError
from .retry import RetryPolicy
from .transport import TimeoutSpec, Transport, json_object

logger = logging.getLogger("mscloud.partnercenter")

API_VERSION = "v1"
CONTINUATION_HEADER = "MS-ContinuationToken"


def _new_id() -> str:
    return str(uuid.uuid4())


class PartnerCenterClient:
    """Calls the Partner Center REST API as one partner (the token's tenant)."""

    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-customers
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/create-a-customer
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/headers
    # Reference: https://learn.microsoft.com/en-us/partner-center/developer/error-codes

    def __init__(
        self,
        *,
        base_url: str,
        token: str | Callable[[], str],
        session: requests.Session,
        timeout: TimeoutSpec = (3.05, 30),
        max_attempts: int = 4,
        max_retry_after: float = 30,
        sleep: Callable[[float], None] = time.sleep,
        id_factory: Callable[[], str] = _new_id,
        on_unauthorized: Callable[[], str | None] | None = None,
        locale: str = "en-US",
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        rng: random.Random | None = None,
    ) -> None:
        base = urlsplit(base_url.rstrip("/"))
        if base.scheme not in ("https", "http") or not base.hostname or base.query:
            raise ValueError("base_url must be an absolute http(s) URL without a query")
        self._base = base
        self._base_url = base_url.rstrip("/")
        self._root = f"{self._base_url}/{API_VERSION}"
        self._token = token if callable(token) else (lambda: token)
        self._new_id = id_factory
        self._on_unauthorized = on_unauthorized
        self._locale = locale
        self._transport = Transport(
            session=session,
            errors=PARTNER_CENTER_ERRORS,
            timeout=timeout,
            policy=RetryPolicy(
                max_attempts=max_attempts,
                max_retry_after=max_retry_after,
                backoff_base=backoff_base,
                backoff_cap=backoff_cap,
            ),
            sleep=sleep,
            rng=rng,
            logger=logger,
        )

    def iter_customers(self, size: int = 500, *, max_items: int | None = None) -> Iterator[dict]:
        """Every customer of the partner, following links.next with its continuation token."""
        correlation_id = self._new_id()  # one id for the whole walk, a new request id per page
        url = f"{self._root}/customers?size={int(size)}"
        continuation: str | None = None
        seen: set[str] = set()
        yielded = 0
        while True:
            headers = {"MS-CorrelationId": correlation_id}
            if continuation:
                headers[CONTINUATION_HEADER] = continuation
            body = self._call("GET", url, headers=headers)
            for item in body.get("items") or []:
                if max_items is not None and yielded >= max_items:
                    return
                yield item
                yielded += 1
            next_link = (body.get("links") or {}).get("next")
            if not next_link or not body.get("items"):
                return
            url, continuation = self._follow(next_link)
            if continuation is not None:
                if continuation in seen:
                    raise PartnerCenterError("Partner Center repeated a continuation token.")
                seen.add(continuation)

    def get_customer(self, customer_id: str) -> dict:
        """One customer by tenant id; only this read carries `allowDelegatedAccess` (DAP).

        # Reference: https://learn.microsoft.com/en-us/partner-center/developer/get-a-customer-by-id
        """
        url = f"{self._root}/customers/{quote(str(customer_id), safe='')}"
        return self._call("GET", url, headers={"MS-CorrelationId": self._new_id()})

    def create_customer(
        self, payload: dict, *, request_id: str, correlation_id: str | None = None
    ) -> dict:
        """Create a customer tenant; the same `request_id` makes a resend return the same one."""
        headers = {"MS-RequestId": request_id, "MS-CorrelationId": correlation_id or request_id}
        # Safe to resend after a lost answer: Partner Center deduplicates on MS-RequestId.
        return self._call(
            "POST", f"{self._root}/customers", headers=headers, json=payload, idempotent=True
        )

    # -- application consent (Control Panel Vendor API) -------------------------------------
    # Reference: https://learn.microsoft.com/partner-center/developer/control-panel-vendor-apis
    # These need an App+User token (`user_impersonation`) of an agent in AdminAgents; an
    # app-only token or another agent is refused (HTTP 401 / 403, PartnerCenterForbidden).

    def create_application_consent(
        self,
        customer_id: str,
        *,
        application_id: str,
        grants: list[dict[str, str]],
        display_name: str = "",
        request_id: str | None = None,
    ) -> dict:
        """Consent `application_id` in the customer tenant with `grants`
        (`[{"enterpriseApplicationId": <resource app id>, "scope": "A,B"}]`): Partner Center
        creates its service principal and delegated grants there. An existing consent answers
        HTTP 409 (PartnerCenterConflict), as CIPP and Microsoft's samples treat it."""
        body: dict[str, Any] = {"applicationId": application_id, "applicationGrants": grants}
        if display_name:
            body["displayName"] = display_name
        rid = request_id or self._new_id()
        return self._call(
            "POST",
            self._consents_url(customer_id),
            headers={"MS-RequestId": rid, "MS-CorrelationId": rid},
            json=body,
            # Partner Center deduplicates on MS-RequestId, and a second consent is a 409.
            idempotent=True,
        )

    def list_application_consents(self, customer_id: str) -> list[dict]:
        """The customer's application consents (`applicationId`, `applicationGrants`, …)."""
        body = self._call(
            "GET",
            self._consents_url(customer_id),
            headers={"MS-CorrelationId": self._new_id()},
        )
        items = body.get("items") if isinstance(body.get("items"), list) else body.get("value")
        return [i for i in items or [] if isinstance(i, dict)]

    def delete_application_consent(self, customer_id: str, application_id: str) -> None:
        """Remove the consent (Partner Center answers 204); the service principal goes too."""
        url = f"{self._consents_url(customer_id)}/{quote(str(application_id), safe='')}"
        self._call("DELETE", url, headers={"MS-CorrelationId": self._new_id()})

    def _consents_url(self, customer_id: str) -> str:
        return f"{self._root}/customers/{quote(str(customer_id), safe='')}/applicationconsents"

    def _follow(self, link: Any) -> tuple[str, str | None]:
        if not isinstance(link, dict) or not isinstance(link.get("uri"), str):
            raise PartnerCenterError("Partner Center returned a malformed next link.")
        if str(link.get("method") or "GET").upper() != "GET":
            raise PartnerCenterError("Partner Center returned a next link that is not a GET.")
        continuation = None
        for header in link.get("headers") or []:
            # Only the continuation token is taken over: the link must not set our auth headers.
            if (
                isinstance(header, dict)
                and str(header.get("key", "")).lower() == "ms-continuationtoken"
            ):
                continuation = str(header.get("value") or "") or None
        return self._resolve(link["uri"]), continuation

    def _resolve(self, uri: str) -> str:
        """Absolute URL for links.next, which Partner Center gives relative to /v1."""
        parts = urlsplit(uri)
        if parts.scheme or parts.netloc:
            same = (
                parts.scheme == self._base.scheme
                and parts.netloc.lower() == self._base.netloc.lower()
                and parts.path.startswith(f"{self._base.path}/{API_VERSION}/")
            )
            if not same:
                raise PartnerCenterError("Refused a next link that points outside Partner Center.")
            return uri
        path = uri if uri.startswith("/") else f"/{uri}"
        if self._base.path and path.startswith(f"{self._base.path}/{API_VERSION}/"):
            origin = f"{self._base.scheme}://{self._base.netloc}"
            return origin + path
        if path.startswith(f"/{API_VERSION}/"):
            return self._base_url + path
        return self._root + path

    def _call(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json: Any = None,
        idempotent: bool = True,
    ) -> dict:
        sent = {
            "Accept": "application/json",
            "MS-RequestId": self._new_id(),
            "X-Locale": self._locale,
            **headers,
        }
        response = self._transport.send(
            method,
            url,
            token=self._token,
            headers=sent,
            json=json,
            idempotent=idempotent,
            on_unauthorized=self._on_unauthorized,
        )
        return json_object(response, error=PartnerCenterError, service="Partner Center")
