"""Search across the customers of the agent's region: /search/ answers from the index at once
and streams the customers it asks live (/search/live/, one chunk per htmx request)."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Role
from accounts.permissions import role_required
from customers.partner_groups import agent_groups
from mscloud.errors import MicrosoftError
from regions.clients import graph_as_agent
from search.live import live_search
from search.selectors import Plan, index_search, query_clean, search_plan_cached

log = logging.getLogger(__name__)


def _groups(request: HttpRequest) -> dict[str, str] | None:
    """The agent's partner security groups (cached in the session); None when Graph could
    not say: Microsoft then decides per customer (searched live)."""
    region = request.user.region
    try:
        partner = graph_as_agent(
            session=request.session, region=region, tenant_id=str(region.partner_tenant_id)
        )
        return agent_groups(session=request.session, graph=partner)
    except MicrosoftError as exc:
        log.info("search: the agent's groups could not be read (%s)", exc.kind)
        return None


def _plan(request: HttpRequest) -> Plan | None:
    region = request.user.region
    if region is None or not region.active:
        return None
    return search_plan_cached(
        user=request.user,
        session_key=request.session.session_key or "",
        agent_groups=_groups(request),
    )


@role_required(Role.AGENT)
def search_view(request: HttpRequest) -> HttpResponse:
    q = query_clean(request.GET.get("q", ""))
    context: dict[str, object] = {"q": q, "nav": "search", "min_chars": settings.SEARCH_MIN_CHARS}
    if len(q) < settings.SEARCH_MIN_CHARS:
        context["too_short"] = bool(q)
        return render(request, "search/search.html", context)
    plan = _plan(request)
    if plan is None:
        context["no_region"] = True
        return render(request, "search/search.html", context)
    started = time.monotonic()
    answer = index_search(plan=plan, q=q, limit=settings.SEARCH_RESULTS_MAX)
    context.update(
        plan=plan,
        answer=answer,
        users=[h for h in answer.hits if h.kind == "user"],
        devices=[h for h in answer.hits if h.kind == "device"],
        index_ms=int((time.monotonic() - started) * 1000),
        indexed_customers=len(set(plan.indexed_users) | set(plan.indexed_devices)),
        chunks=plan.live_chunks(),
        skipped_reasons=_by_reason(plan),
        results_max=settings.SEARCH_RESULTS_MAX,
    )
    return render(request, "search/search.html", context)


def _by_reason(plan: Plan) -> list[tuple[str, list]]:
    groups: dict[str, list] = {}
    for skipped in plan.skipped:
        groups.setdefault(skipped.reason, []).append(skipped.customer)
    return sorted(groups.items(), key=lambda item: -len(item[1]))


@role_required(Role.AGENT)
def search_live_view(request: HttpRequest) -> HttpResponse:
    """One chunk of the live customers; its answer carries the request for the next one."""
    q = query_clean(request.GET.get("q", ""))
    try:
        chunk = int(request.GET.get("chunk", "0"))
    except ValueError:
        chunk = -1
    plan = _plan(request) if len(q) >= settings.SEARCH_MIN_CHARS else None
    # Chunk 0 of a search with nothing live is an empty answer ("asked 0 customers").
    if plan is None or not 0 <= chunk < max(plan.live_chunks(), 1):
        return HttpResponse("This search has nothing more to ask. Search again.", status=400)
    reaches = plan.live_chunk(chunk)
    answers = live_search(user=request.user, session=request.session, reaches=reaches, q=q)
    done = min((chunk + 1) * settings.SEARCH_LIVE_CHUNK, len(plan.live))
    return render(
        request,
        "search/_live_chunk.html",
        {
            "q": q,
            "answers": answers,
            "hits": [h for a in answers for h in a.hits],
            "failed": [a for a in answers if a.error],
            "next_chunk": chunk + 1 if chunk + 1 < plan.live_chunks() else None,
            "done": done,
            "total": len(plan.live),
        },
    )
