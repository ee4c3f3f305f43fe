"""Operations in code (issue 17): JSON log lines, request ids on every line and on every
Microsoft call, Prometheus metrics and the /metrics endpoint."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings
from prometheus_client import REGISTRY

from mscloud.errors import GraphThrottled
from mscloud.graph import GraphClient
from portal import requestid
from portal.celery import app as celery_app
from portal.logging import (
    CeleryTaskFilter,
    GunicornAccessRequestIdFilter,
    JsonFormatter,
    RedactSecretsFilter,
    gunicorn_logconfig,
)
from portal.requestid import RequestIdLogFilter

POD = "10.0.3.7:8000"  # a scraper or kubelet asks by pod IP


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.addFilter(RedactSecretsFilter())
        self.addFilter(RequestIdLogFilter())
        self.addFilter(CeleryTaskFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[Capture]:
    handler = Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    previous = logging.getLogger("mscloud").level
    logging.getLogger("mscloud").setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    logging.getLogger("mscloud").setLevel(previous)


def _json(record: logging.LogRecord) -> dict[str, Any]:
    return json.loads(JsonFormatter().format(record))


# -- JSON lines -------------------------------------------------------------------------------


def test_a_json_line_has_the_timestamp_level_logger_message_request_id_and_extra_fields():
    record = logging.LogRecord("portal.x", logging.WARNING, __file__, 1, "sweep %s", (7,), None)
    record.request_id = "abc12345"
    record.customers = 18

    line = JsonFormatter().format(record)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["timestamp"].endswith("+00:00") and "T" in entry["timestamp"]
    assert (entry["level"], entry["logger"], entry["message"]) == ("WARNING", "portal.x", "sweep 7")
    assert (entry["request_id"], entry["customers"]) == ("abc12345", 18)


def test_a_json_line_never_carries_a_token_in_its_message_extras_or_traceback():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl"
    try:
        raise ValueError(f"refused Bearer {jwt}")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "auth %s", (f"Bearer {jwt}",), sys.exc_info()
        )
    record.sent = {"url": "/callback?code=0.SECRETCODE&state=s"}

    line = JsonFormatter().format(record)

    assert "eyJ" not in line and "SECRETCODE" not in line
    assert json.loads(line)["exception"].startswith("Traceback")


def test_production_logs_json_by_default_and_text_when_asked(monkeypatch):
    import importlib

    from portal.settings import base

    monkeypatch.setenv("LOG_FORMAT", "text")
    assert importlib.reload(base).LOGGING["handlers"]["console"]["formatter"] == "plain"
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert importlib.reload(base).LOGGING["handlers"]["console"]["formatter"] == "json"
    monkeypatch.delenv("LOG_FORMAT")
    assert importlib.reload(base).LOGGING["handlers"]["console"]["formatter"] == "plain"
    production = (
        (base.BASE_DIR / "portal" / "settings" / "production.py").read_text().replace(" ", "")
    )
    assert 'LOG_FORMAT=env("LOG_FORMAT",default="json")' in production


def test_gunicorn_access_lines_take_the_request_id_the_response_carried():
    config = gunicorn_logconfig("json")
    assert config["loggers"]["gunicorn.access"]["handlers"] == ["console"]
    assert config["formatters"]["json"]["()"] == "portal.logging.JsonFormatter"

    class Atoms(dict):
        def __getitem__(self, key: str) -> str:
            return super().get(key.lower(), "-")

    atoms = Atoms({"{x-request-id}o": "rid-12345678", "u": "/auth/callback/"})
    record = logging.LogRecord("gunicorn.access", logging.INFO, "", 0, "%(u)s", (atoms,), None)
    GunicornAccessRequestIdFilter().filter(record)

    entry = _json(record)
    assert entry["request_id"] == "rid-12345678" and entry["message"] == "/auth/callback/"


# -- request ids ------------------------------------------------------------------------------


def test_every_graph_call_logs_its_own_client_request_id_next_to_the_request_id(
    sim, world, captured
):
    # Reference: https://learn.microsoft.com/en-us/graph/best-practices-concept#reliability-and-support
    region = world["regions"][0]
    tenant = region["customers"][0]["tenant_id"]
    graph = GraphClient(
        base_url=f"{sim.base_url}/graph",
        token=sim.app_token(region, tenant),
        session=sim.new_session(),
    )
    token = requestid.bind("portal-req-0001")
    try:
        graph.get("/users", params={"$top": "1"})
        graph.get("/users", params={"$top": "1"})
    finally:
        requestid.unbind(token)

    calls = [r for r in captured.records if r.name == "mscloud.graph"]
    assert [r.request_id for r in calls] == ["portal-req-0001", "portal-req-0001"]
    sent = [r.client_request_id for r in calls]
    assert len(set(sent)) == 2  # a new GUID per call, as Microsoft asks
    received = [
        r.get("client_request_id") for r in sim.requests()["requests"] if r["kind"] == "graph"
    ]
    assert set(sent) <= set(received)
    assert all("$top" not in r.path for r in calls)


def test_a_celery_task_logs_with_its_task_id_as_request_id_and_its_name():
    seen: list[logging.LogRecord] = []

    @celery_app.task(name="tests.observability.noisy")
    def noisy() -> None:
        record = logging.LogRecord("x", logging.INFO, "", 0, "in the task", None, None)
        RequestIdLogFilter().filter(record)
        CeleryTaskFilter().filter(record)
        seen.append(record)

    result = noisy.apply(task_id="task-id-0001")

    assert result.successful()
    (record,) = seen
    assert record.request_id == "task-id-0001"
    assert (record.task_id, record.task_name) == ("task-id-0001", "tests.observability.noisy")
    assert requestid.request_id() == "-"  # unbound after the task


# -- metrics ----------------------------------------------------------------------------------


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
def test_metrics_is_not_found_when_no_token_or_network_is_configured(client: Client):
    assert client.get("/metrics", HTTP_HOST=POD).status_code == 404
    assert client.get("/metrics", HTTP_HOST=POD, HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.django_db
@override_settings(METRICS_TOKEN="scrape-token-123", SECURE_SSL_REDIRECT=True)
def test_metrics_answers_a_bearer_token_over_http_whatever_the_host(client: Client):
    assert client.get("/metrics", HTTP_HOST=POD).status_code == 404
    wrong = client.get("/metrics", HTTP_HOST=POD, HTTP_AUTHORIZATION="Bearer scrape-token-12")
    assert wrong.status_code == 404
    client.get("/signin/")  # one request to count

    scraped = client.get("/metrics", HTTP_HOST=POD, HTTP_AUTHORIZATION="Bearer scrape-token-123")

    assert scraped.status_code == 200
    assert scraped["Content-Type"].startswith("text/plain")
    assert scraped["Cache-Control"] == "no-store"
    body = scraped.content.decode()
    assert "portal_http_request_duration_seconds_bucket" in body
    assert "portal_compliance_sweep_customers" in body


@pytest.mark.django_db
@override_settings(METRICS_ALLOWED_NETWORKS=["10.0.0.0/8"])
def test_metrics_answers_a_scraper_from_an_allowed_network_only(client: Client):
    assert client.get("/metrics", HTTP_HOST=POD, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", HTTP_HOST=POD, REMOTE_ADDR="192.0.2.9").status_code == 404
    # X-Forwarded-For is the client's word: the scraper talks to the pod itself.
    spoofed = client.get(
        "/metrics", HTTP_HOST=POD, REMOTE_ADDR="192.0.2.9", HTTP_X_FORWARDED_FOR="10.1.2.3"
    )
    assert spoofed.status_code == 404


@pytest.mark.django_db
def test_request_latency_is_recorded_by_url_name_method_and_status_class(client: Client):
    labels = {"view": "signin", "method": "GET", "status": "2xx"}
    before = _value("portal_http_request_duration_seconds_count", **labels)

    assert client.get("/signin/").status_code == 200
    client.get("/no-such-page/?q=secret")

    assert _value("portal_http_request_duration_seconds_count", **labels) == before + 1
    assert (
        _value(
            "portal_http_request_duration_seconds_count",
            view="unmatched",
            method="GET",
            status="4xx",
        )
        >= 1
    )


def test_graph_calls_and_429s_are_counted_per_service_host_and_status(sim, world):
    # Reference: https://learn.microsoft.com/en-us/graph/throttling
    region = world["regions"][0]
    tenant = region["customers"][0]["tenant_id"]
    host = f"127.0.0.1:{sim.port}"
    graph = GraphClient(
        base_url=f"{sim.base_url}/graph",
        token=sim.app_token(region, tenant),
        session=sim.new_session(),
        max_attempts=1,
    )
    ok = _value("portal_microsoft_requests_total", service="graph", host=host, status="200")
    throttled = _value("portal_microsoft_throttled_total", service="graph", host=host)
    sim.faults(throttle={"limit": 1, "window": 60})

    graph.get("/users")
    with pytest.raises(GraphThrottled):
        graph.get("/users")

    assert (
        _value("portal_microsoft_requests_total", service="graph", host=host, status="200")
        == ok + 1
    )
    assert _value("portal_microsoft_throttled_total", service="graph", host=host) == throttled + 1


def test_a_sentry_event_keeps_the_path_but_no_cookie_header_query_user_or_token():
    from portal.logging import sentry_before_send, sentry_init

    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl"
    event = {
        "request": {
            "url": "https://portal.example/auth/callback/?code=SECRETCODE",
            "method": "GET",
            "cookies": {"__Host-portal_session": "s"},
            "headers": {"Authorization": f"Bearer {jwt}"},
            "query_string": "code=SECRETCODE",
        },
        "user": {"email": "agent@contoso.com"},
        "exception": {"values": [{"value": f"refused Bearer {jwt}"}]},
    }

    cleaned = json.dumps(sentry_before_send(event, {}))

    assert "SECRETCODE" not in cleaned and "eyJ" not in cleaned
    assert "portal_session" not in cleaned and "agent@contoso.com" not in cleaned
    assert "https://portal.example/auth/callback/" in cleaned
    assert sentry_init("") is False
