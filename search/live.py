"""The live part of a search: customers the index does not answer for are asked over Graph
with the agent's own delegated token, a few at a time, so Microsoft's GDAP decision is the
agent's. One $batch per customer (users and Intune devices together); answers cached briefly
per agent so paging back and forth or a second look costs nothing.

The customers come from the plan (search.selectors.search_plan), which only ever holds the
agent's own region: the browser never names a tenant here.
"""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache

from accounts.models import User
from customers.directory import odata_literal, search_term
from customers.errors import explain
from mscloud.errors import MicrosoftError
from mscloud.graph import BatchRequest
from regions.clients import SessionTokensForThreads, graph_for_user
from regions.models import Region
from search.reach import Reach
from search.selectors import Hit, account_state, device_detail

log = logging.getLogger(__name__)

USER_FIELDS = "id,displayName,userPrincipalName,mail,accountEnabled"
DEVICE_FIELDS = "id,deviceName,serialNumber,operatingSystem,complianceState,userPrincipalName"
PER_CUSTOMER = 10  # rows of each kind one customer contributes live


@dataclass
class LiveAnswer:
    reach: Reach
    hits: list[Hit]
    error: str = ""  # a sentence: why this customer gave no answer
    cached: bool = False
    ms: int = 0


def _key(user: User, session: SessionBase, tenant_id: str, q: str) -> str:
    """Per agent and sign-in (the session key changes at every sign-in): signing in again,
    e.g. after being added to a group, asks Microsoft anew. Hashed: no query in Redis keys."""
    digest = hashlib.sha256(f"{session.session_key}|{q.lower()}".encode()).hexdigest()[:40]
    return f"search:live:{user.pk}:{tenant_id}:{digest}"


def _requests(reach: Reach, q: str) -> list[BatchRequest]:
    out = []
    if reach.users:
        term = search_term(q)
        params = {
            "$search": f'"displayName:{term}" OR "userPrincipalName:{term}" OR "mail:{term}"',
            "$select": USER_FIELDS,
            "$top": PER_CUSTOMER,
        }
        out.append(
            BatchRequest(
                id="users",
                url=f"/users?{urlencode(params, quote_via=quote)}",
                headers={"ConsistencyLevel": "eventual"},
            )
        )
    if reach.devices:
        # Intune's $filter: startswith on the name, eq on the serial number (no contains).
        literal = odata_literal(q)
        params = {
            "$filter": f"startswith(deviceName,'{literal}') or serialNumber eq '{literal}'",
            "$select": DEVICE_FIELDS,
            "$top": PER_CUSTOMER,
        }
        out.append(
            BatchRequest(
                id="devices",
                url=f"/deviceManagement/managedDevices?{urlencode(params, quote_via=quote)}",
            )
        )
    return out


def _ask(reach: Reach, q: str, region: Region, tokens: SessionTokensForThreads) -> LiveAnswer:
    started = time.monotonic()
    customer = reach.customer
    answer = LiveAnswer(reach=reach, hits=[])
    try:
        graph = graph_for_user(
            tokens=tokens.tokens(str(customer.tenant_id)),
            region=region,
            tenant_id=str(customer.tenant_id),
        )
        responses = graph.batch(_requests(reach, q))
        errors = []
        if "users" in responses:
            item = responses["users"]
            if item.ok:
                answer.hits += [
                    Hit(
                        "user",
                        customer,
                        str(u["id"]),
                        u.get("displayName") or u.get("userPrincipalName") or "",
                        u.get("userPrincipalName") or "",
                        account_state(u.get("accountEnabled")),
                        "live",
                    )
                    for u in item.body.get("value") or []
                ]
            else:
                errors.append(_item_sentence(item, customer, "users"))
        if "devices" in responses:
            item = responses["devices"]
            if item.ok:
                answer.hits += [
                    Hit(
                        "device",
                        customer,
                        str(d["id"]),
                        d.get("deviceName") or str(d["id"]),
                        device_detail(
                            {
                                "serial_number": d.get("serialNumber"),
                                "operating_system": d.get("operatingSystem"),
                                "user_principal_name": d.get("userPrincipalName"),
                            }
                        ),
                        d.get("complianceState") or "",
                        "live",
                    )
                    for d in item.body.get("value") or []
                ]
            else:
                errors.append(_item_sentence(item, customer, "Intune devices"))
        answer.error = " ".join(errors)
    except MicrosoftError as exc:
        answer.error = explain(exc, customer)[0]
    except Exception:  # a bug, not Microsoft: this customer says so, the others answer
        log.exception("live search of tenant %s crashed", customer.tenant_id)
        answer.error = "An unexpected error stopped searching this customer; the log has it."
    answer.ms = int((time.monotonic() - started) * 1000)
    return answer


def _item_sentence(item: object, customer: object, what: str) -> str:
    try:
        item.raise_for_status()  # type: ignore[attr-defined]
    except MicrosoftError as exc:
        sentence = explain(exc, customer)[0]  # type: ignore[arg-type]
        return f"{what.capitalize()}: {sentence}"
    return ""


def live_search(
    *, user: User, session: SessionBase, reaches: list[Reach], q: str
) -> list[LiveAnswer]:
    """Ask each customer of `reaches` (a chunk of the plan, all of the user's region) at
    once; in the plan's order."""
    region = user.region
    answers: dict[str, LiveAnswer] = {}
    to_ask: list[Reach] = []
    for reach in reaches:
        tenant = str(reach.customer.tenant_id)
        stored = cache.get(_key(user, session, tenant, q))
        if stored is not None:
            answers[tenant] = _restore(stored, reach)
        else:
            to_ask.append(reach)
    if to_ask:
        tokens = SessionTokensForThreads(session, [str(r.customer.tenant_id) for r in to_ask])
        try:
            with ThreadPoolExecutor(
                max_workers=min(len(to_ask), settings.SEARCH_LIVE_CONCURRENCY),
                thread_name_prefix="search",
            ) as pool:
                for answer in pool.map(lambda r: _ask(r, q, region, tokens), to_ask):
                    tenant = str(answer.reach.customer.tenant_id)
                    answers[tenant] = answer
                    if not answer.error or "try again" not in answer.error.lower():
                        cache.set(
                            _key(user, session, tenant, q),
                            _stored(answer),
                            settings.SEARCH_LIVE_CACHE_SECONDS,
                        )
        finally:
            tokens.save()
    return [answers[str(r.customer.tenant_id)] for r in reaches]


def _stored(answer: LiveAnswer) -> dict:
    return {
        "error": answer.error,
        "hits": [[h.kind, h.object_id, h.title, h.detail, h.state] for h in answer.hits],
    }


def _restore(stored: dict, reach: Reach) -> LiveAnswer:
    hits = [
        Hit(kind, reach.customer, object_id, title, detail, state, "live")
        for kind, object_id, title, detail, state in stored.get("hits", [])
    ]
    return LiveAnswer(reach=reach, hits=hits, error=stored.get("error", ""), cached=True)
