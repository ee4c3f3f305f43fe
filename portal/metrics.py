"""Prometheus metrics, and `/metrics` for the scraper (prometheus_client).

What is measured, and the labels (each bounded: no user, no path, no query, no tenant):
- portal_http_request_duration_seconds{view, method, status}: every request, by URL name
  (the route's name, "unmatched" for a 404 before any view) and status class ("2xx", ...).
- portal_microsoft_requests_total{service, host, status} and
  portal_microsoft_request_duration_seconds{service, host}: every attempt to Graph or Partner
  Center (mscloud.transport observers); `host` is the region's endpoint (a handful of national
  clouds), status the HTTP code or "error" (no answer).
- portal_microsoft_throttled_total{service, host}: the 429s. Not per tenant: the transport
  does not know the tenant (the access token is opaque to a client), and a label per customer
  would grow with the partner's book (thousands of series). Which tenant was throttled is in
  the attempt's log line (mscloud.calls, with its client-request-id and request id).
- portal_celery_task_duration_seconds{task, state}: every task run (state SUCCESS, FAILURE,
  RETRY, ...), in the worker.
- portal_compliance_sweep_customers{scope, count}: the unfinished sweeps' total, done and
  failed customers, read from the database at scrape time (right whichever worker sweeps).

Several processes (gunicorn workers, Celery's prefork children): set PROMETHEUS_MULTIPROC_DIR
to an empty directory, the same for every process of one pod or machine, before they start;
/metrics then adds up every process's values (prometheus_client's multiprocess mode). gunicorn
must call `portal.metrics.child_exit` from its child_exit hook so a dead worker's gauges go.

`/metrics` is answered by a middleware before ALLOWED_HOSTS and the https redirect (a scraper
asks a pod by IP over plain http), and only to a scraper that shows METRICS_TOKEN as a bearer
token or comes from METRICS_ALLOWED_NETWORKS (REMOTE_ADDR: the scraper talks to the pod, not
through the ingress). Neither configured, or neither shown: 404, as for any unknown page.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mscloud.transport import Attempt, observe_attempts

METRICS_PATH = "/metrics"

HTTP_LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer a request, by URL name, method and status class.",
    ["view", "method", "status"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MICROSOFT_REQUESTS = Counter(
    "portal_microsoft_requests",
    "Attempts to call Microsoft Graph or Partner Center, by answer.",
    ["service", "host", "status"],
)
MICROSOFT_LATENCY = Histogram(
    "portal_microsoft_request_duration_seconds",
    "Time of one attempt to call Microsoft Graph or Partner Center.",
    ["service", "host"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20),
)
MICROSOFT_THROTTLED = Counter(
    "portal_microsoft_throttled",
    "Answers 429 (too many requests) from Microsoft Graph or Partner Center.",
    ["service", "host"],
)
TASK_DURATION = Histogram(
    "portal_celery_task_duration_seconds",
    "Time of one Celery task run, by task and final state.",
    ["task", "state"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def record_attempt(attempt: Attempt) -> None:
    """mscloud.transport's observer: count and time one Microsoft attempt."""
    status = str(attempt.status) if attempt.status is not None else "error"
    MICROSOFT_REQUESTS.labels(attempt.service, attempt.host, status).inc()
    MICROSOFT_LATENCY.labels(attempt.service, attempt.host).observe(attempt.seconds)
    if attempt.status == 429:
        MICROSOFT_THROTTLED.labels(attempt.service, attempt.host).inc()


observe_attempts(record_attempt)


def record_task(task_name: str, state: str, seconds: float) -> None:
    TASK_DURATION.labels(task_name, state or "UNKNOWN").observe(seconds)


class SweepProgressCollector(Collector):
    """The unfinished compliance sweeps' progress, read when scraped (any worker sweeps)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "portal_compliance_sweep_customers",
            "Customers of the unfinished compliance sweeps: total, done and failed.",
            labels=["scope", "count"],
        )
        for scope, total, done, failed in _unfinished_sweeps():
            family.add_metric([scope, "total"], total)
            family.add_metric([scope, "done"], done)
            family.add_metric([scope, "failed"], failed)
        yield family


def _unfinished_sweeps() -> Iterable[tuple[str, int, int, int]]:
    # By name, not by import: portal is below compliance (tests/test_layers.py).
    from django.apps import apps

    from portal.runs import UNFINISHED

    try:
        sweep = apps.get_model("compliance", "ComplianceSweep")
    except LookupError:
        return []
    try:
        return list(
            sweep.objects.filter(status__in=UNFINISHED).values_list(
                "scope", "total", "done", "failed"
            )
        )
    except Exception:  # a scrape must answer even when the database does not
        return []


def registry() -> CollectorRegistry:
    """What one scrape reads: every process's values in multiprocess mode, else this one's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        scrape = CollectorRegistry()
        multiprocess.MultiProcessCollector(scrape)
    else:
        scrape = CollectorRegistry()
        scrape.register(_Forward(REGISTRY))
    scrape.register(SweepProgressCollector())
    return scrape


class _Forward(Collector):
    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Any]:
        yield from self.source.collect()


def child_exit(worker_pid: int) -> None:
    """For gunicorn's child_exit hook: drop a dead worker's live gauges (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker_pid)


def scraper_allowed(request: HttpRequest) -> bool:
    """A bearer METRICS_TOKEN, or a REMOTE_ADDR in METRICS_ALLOWED_NETWORKS."""
    token: str = getattr(settings, "METRICS_TOKEN", "")
    if token:
        shown = request.headers.get("Authorization", "")
        scheme, _, value = shown.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token):
            return True
    networks: list[str] = getattr(settings, "METRICS_ALLOWED_NETWORKS", [])
    if networks:
        try:
            remote = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(remote in ipaddress.ip_network(n, strict=False) for n in networks)
    return False


def _view_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class MetricsMiddleware:
    """Answers /metrics (to allowed scrapers only) and times every other request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.rstrip("/") == METRICS_PATH:
            return self._metrics(request)
        started = time.monotonic()
        response = self.get_response(request)
        method = request.method if request.method in _METHODS else "other"
        status = f"{response.status_code // 100}xx"
        HTTP_LATENCY.labels(_view_name(request), method, status).observe(time.monotonic() - started)
        return response

    def _metrics(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD") or not scraper_allowed(request):
            return HttpResponse("Not Found", status=404, content_type="text/plain")
        response = HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
        response["Cache-Control"] = "no-store"
        return response
