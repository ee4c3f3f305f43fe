"""The multi-machine shape, on one machine: two gunicorn webs and two Celery workers and beat,
all with production settings, on one PostgreSQL (a scratch database), one Redis (a scratch db
number) and the simulator.

What it proves, in order (one test: the processes take most of its time to start):
1. A sign-in started on web A finishes on web B, and both serve the agent's Graph-backed pages
   (session and token cache live in PostgreSQL and Redis, not in a process).
2. Every line the webs write is a JSON object; the lines of a request carry its X-Request-ID,
   and the client-request-id each Graph call logged is the one the simulator received.
3. /metrics answers a bearer METRICS_TOKEN only, with request and Microsoft call metrics.
4. A compliance sweep begun by worker A, SIGKILLed mid-sweep, is finished by worker B (beat's
   watch re-sends it), one snapshot per customer; the workers' lines are JSON with the task's
   id as request id.
5. /readyz on web A (whose PostgreSQL goes through a TCP proxy) answers 503 within 1 s of the
   proxy refusing or hanging, whatever the Host, and 200 again once it is back.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from compliance.models import ComplianceSnapshot, ComplianceSweep
from compliance.services import sweep_start
from compliance.tasks import compliance_sweep_chunk_run, compliance_sweep_run
from customers.models import Customer
from customers.services import customers_sync, sync_run_start
from tests.celeryproc import CeleryProcess, db_env
from tests.conftest import idp_sign_in, password_of
from tests.multiprocess.stack import HOST, ROOT, Browser, TcpProxy, Web, csrf_token

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.celery,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
]

AGENT = "agent@contosopartners.com"
LEASE = "3"


def _wait(check: Callable[[], Any], what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def _json_lines(lines: list[str], where: str) -> list[dict[str, Any]]:
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"{where}: a line that is not JSON: {line[:300]}") from None
        assert isinstance(record, dict), line
        assert {"timestamp", "level", "logger", "message", "request_id"} <= set(record), line
        records.append(record)
    return records


def _with_port(database_url: str, port: int) -> str:
    parts = urlsplit(database_url)
    netloc = parts.netloc.rsplit(":", 1)[0] + f":{port}"
    return parts._replace(netloc=netloc).geturl()


@pytest.fixture
def production_env(tmp_path: Any) -> Iterator[dict[str, str]]:
    queue = f"mp-{os.getpid()}"
    env = {
        **db_env(),
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        # The test process stored the regions' secrets: the same keys read them.
        "PORTAL_ENCRYPTION_KEYS": ",".join(settings.PORTAL_ENCRYPTION_KEYS),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "CELERY_RESULT_BACKEND": settings.REDIS_URL,
        "CELERY_QUEUE": f"{queue}-shared",
        # The simulator listens on 127.0.0.1 (https, its own CA, stored with each region).
        "MICROSOFT_ALLOW_PRIVATE_HOSTS": "true",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "METRICS_TOKEN": secrets.token_urlsafe(24),
        "COMPLIANCE_SWEEP_LEASE_SECONDS": LEASE,
        "COMPLIANCE_FIRST_SWEEP": "false",
        "SEARCH_INDEX_AFTER_SYNC": "false",
        "PYTHONUNBUFFERED": "1",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("TEST_DATABASE_NAME", None)
    yield env


def test_two_webs_two_workers_and_beat_share_sign_ins_sweeps_and_request_ids(
    sim: Any,
    world: dict[str, Any],
    regions: dict[str, Any],
    production_env: dict[str, str],
    tmp_path: Any,
) -> None:
    env = production_env
    queue = env["CELERY_QUEUE"].removesuffix("-shared")
    for region in world["regions"]:
        sim._call(
            "POST",
            f"/_sim/regions/{region['slug']}/app/redirect-uris",
            {"redirect_uris": [f"https://{HOST}/auth/callback/"]},
        )
        run, _ = sync_run_start(region=regions[region["slug"]])
        customers_sync(run_id=run.pk)
    everyone = list(Customer.objects.all())
    assert len(everyone) >= 6

    # As a deploy does before the webs start (production serves hashed static files).
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        timeout=120,
    )

    proxy = TcpProxy(("127.0.0.1", int(urlsplit(env["DATABASE_URL"]).port or 5432)))
    proxy.start()
    web_a = Web(
        "web-a",
        {
            **env,
            "DATABASE_URL": _with_port(env["DATABASE_URL"], proxy.port),
            "PROMETHEUS_MULTIPROC_DIR": str(_empty(tmp_path / "prom-a")),
        },
    )
    web_b = Web("web-b", {**env, "PROMETHEUS_MULTIPROC_DIR": str(_empty(tmp_path / "prom-b"))})
    started: list[Any] = [web_a, web_b]
    try:
        worker_a = _worker(
            f"{queue}-shared,{queue}-a", "mp-a", {**env, "COMPLIANCE_CONCURRENCY": "1"}
        )
        started.append(worker_a)
        worker_b = _worker(f"{queue}-shared,{queue}-b", "mp-b", env)
        started.append(worker_b)
        beat = CeleryProcess(
            ["--quiet", "beat", "--loglevel", "INFO", "-s", str(tmp_path / "beat-schedule")],
            {
                **env,
                "COMPLIANCE_SWEEP_WATCH_SECONDS": "1",
                "PROVISIONING_TICK_SECONDS": "3600",
                "CUSTOMER_SYNC_INTERVAL": "86400",
                "COMPLIANCE_SWEEP_INTERVAL": "86400",
            },
            "multiprocess-beat.log",
        )
        started.append(beat)
        web_a.wait_live()
        web_b.wait_live()

        _sign_in_on_a_continues_on_b(sim, world, web_a, web_b)
        _metrics_answer_the_token_only(web_a, env["METRICS_TOKEN"])
        _a_killed_worker_s_sweep_is_finished_by_the_other(sim, queue, worker_a, everyone)
        _worker_lines_are_json_with_the_task_id(sim, worker_a, worker_b)
        _readyz_follows_the_database(web_a, proxy)
        for web in (web_a, web_b):
            _json_lines(web.log_lines(), web.name)
    finally:
        for process in reversed(started):
            process.stop()
        proxy.stop()


def _worker(queues: str, name: str, env: dict[str, str]) -> CeleryProcess:
    """A solo-pool worker as production runs it: `--quiet`, so its stdout is its log lines
    only (no banner), answering a ping before this returns."""
    from portal.celery import app

    worker = CeleryProcess(
        [
            "--quiet",
            "worker",
            "--loglevel",
            "INFO",
            "--pool",
            "solo",
            "-Q",
            queues,
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env,
        f"multiprocess-{name}.log",
    )
    destination = [f"{name}@{os.uname().nodename}"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(destination=destination, timeout=1):
            return worker
        if worker.process.poll() is not None:
            raise RuntimeError(f"The Celery worker {name} exited; see {worker.log_path}")
    worker.kill()
    raise RuntimeError(f"The Celery worker {name} did not answer within 60 s")


def _empty(path: Any) -> Any:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sign_in_on_a_continues_on_b(sim: Any, world: dict[str, Any], web_a: Web, web_b: Web) -> None:
    browser = Browser()
    form = browser.get(web_a, "/signin/")
    assert form.status_code == 200, form.text[:500]
    start = browser.post(
        web_a,
        "/signin/",
        data={"csrfmiddlewaretoken": csrf_token(form.text), "username": AGENT},
    )
    assert start.status_code == 302, start.text[:500]
    back = idp_sign_in(start.headers["Location"], AGENT, password_of(world, AGENT))
    parts = urlsplit(back)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", HOST, "/auth/callback/"), back
    done = browser.get(web_b, f"{parts.path}?{parts.query}")
    assert done.status_code == 302, done.text[:1000]
    for web in (web_a, web_b):
        home = browser.get(web, "/")
        assert home.headers["Location"] == "/customers/", (web.name, home.headers)
        assert browser.get(web, "/customers/").status_code == 200, web.name

    us = next(r for r in world["regions"] if r["slug"] == "us")
    group = next(g for g in us["groups"] if AGENT in g["members"])
    tenant = next(iter(group["roles_by_customer"]))
    request_ids = {}
    tokens_asked = []
    for web in (web_b, web_a):  # B first: A then answers from the token cache B filled
        request_id = f"mp-{web.name}-{secrets.token_hex(8)}"
        page = browser.get(
            web, f"/customers/{tenant}/users/?q=secret-term", headers={"X-Request-ID": request_id}
        )
        assert page.status_code == 200, page.text[:500]
        assert page.headers["X-Request-ID"] == request_id
        request_ids[web.name] = request_id
        tokens_asked.append(sim.requests()["counters"]["token"])
    assert tokens_asked[0] == tokens_asked[1], "web A asked for a token web B had cached"

    # The Graph calls each page made: logged with its request id and the client-request-id
    # sent, which the simulator recorded.
    received = {
        r["client_request_id"]
        for r in sim.requests()["requests"]
        if r["kind"] == "graph" and r.get("client_request_id")
    }
    for web in (web_a, web_b):
        records = _json_lines(web.log_lines(), web.name)
        request_id = request_ids[web.name]
        calls = [
            r for r in records if r["request_id"] == request_id and r["logger"] == "mscloud.graph"
        ]
        assert calls, f"{web.name}: no Graph call logged with {request_id}"
        for call in calls:
            assert call["client_request_id"] in received, call
            assert "?" not in call["path"] and "secret-term" not in json.dumps(call)
        access = [
            r for r in records if r["logger"] == "gunicorn.access" and r["request_id"] == request_id
        ]
        assert len(access) == 1, access
        assert f"/customers/{tenant}/users/" in access[0]["message"]
        assert "secret-term" not in access[0]["message"]


def _metrics_answer_the_token_only(web: Web, token: str) -> None:
    import requests

    url = f"{web.url}/metrics"
    assert requests.get(url, timeout=5).status_code == 404
    assert requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5).status_code == 404
    scraped = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert scraped.status_code == 200
    text = scraped.text
    assert 'portal_http_request_duration_seconds_count{method="GET"' in text
    assert 'view="customer_users"' in text or "view=" in text
    assert 'portal_microsoft_requests_total{host="127.0.0.1' in text


def _graph_reads(sim: Any) -> Counter:
    return Counter(
        r.get("tenant")
        for r in sim.requests()["requests"]
        if r["kind"] == "graph" and "managedDevices" in r.get("path", "")
    )


def _a_killed_worker_s_sweep_is_finished_by_the_other(
    sim: Any, queue: str, worker_a: CeleryProcess, everyone: list[Customer]
) -> None:
    # Every Microsoft request takes 0.4 s and worker A reads one customer at a time: the sweep
    # lasts long enough to kill A in the middle of it.
    sim.faults(latency_ms=400)
    sweep, created = sweep_start(requested_by="multiprocess test")
    assert created
    compliance_sweep_run.apply_async((sweep.pk,), queue=f"{queue}-a")
    _wait(
        lambda: ComplianceSweep.objects.filter(pk=sweep.pk, done__gte=3).exists(),
        "three customers swept by worker A",
        timeout=60,
    )
    worker_a.kill()
    before = {s.customer_id: s.pk for s in ComplianceSnapshot.objects.filter(sweep_id=sweep.pk)}
    killed = ComplianceSweep.objects.get(pk=sweep.pk)
    assert killed.status == "running" and 3 <= killed.done < len(everyone)
    sim.faults(latency_ms=0)
    done = _wait(
        lambda: ComplianceSweep.objects.filter(pk=sweep.pk, status="done").first(),
        "the sweep finished by worker B",
        timeout=60,
    )
    per_customer = Counter(
        s.customer_id for s in ComplianceSnapshot.objects.filter(sweep_id=sweep.pk)
    )
    assert sorted(per_customer) == sorted(c.pk for c in everyone)
    assert set(per_customer.values()) == {1}
    assert done.done == len(everyone)
    # Worker A's chunk (the sweep's one: 18 customers) was taken over by worker B.
    assert [(c.status, c.attempts) for c in done.chunks.all()] == [("done", 2)]
    kept = {s.customer_id: s.pk for s in ComplianceSnapshot.objects.filter(sweep_id=sweep.pk)}
    assert {k: v for k, v in kept.items() if k in before} == before


def _worker_lines_are_json_with_the_task_id(
    sim: Any, worker_a: CeleryProcess, worker_b: CeleryProcess
) -> None:
    received = {
        r["client_request_id"]
        for r in sim.requests()["requests"]
        if r["kind"] == "graph" and r.get("client_request_id")
    }
    for worker in (worker_a, worker_b):
        lines = [line for line in worker.log_path.read_text().splitlines() if line.strip()]
        records = _json_lines(lines, worker.log_path.name)
        # The sweep's own task (worker A) or the task of the chunk B took over.
        tasks = {compliance_sweep_run.name, compliance_sweep_chunk_run.name}
        sweeping = [r for r in records if r.get("task_name") in tasks]
        assert sweeping, f"{worker.log_path.name}: no line of the sweep's tasks"
        for record in sweeping:
            assert record["request_id"] == record["task_id"], record
        calls = [r for r in sweeping if r["logger"] == "mscloud.graph"]
        assert calls, f"{worker.log_path.name}: no Graph call logged by the sweep"
        assert {c["client_request_id"] for c in calls} <= received


def _readyz_follows_the_database(web: Web, proxy: TcpProxy) -> None:
    import requests

    pod = {"Host": "10.244.1.7:8000"}  # a kubelet asks by pod IP, over plain http
    assert requests.get(f"{web.url}/readyz", headers=pod, timeout=5).status_code == 200
    proxy.stop()
    started = time.monotonic()
    down = requests.get(f"{web.url}/readyz", headers=pod, timeout=5)
    elapsed = time.monotonic() - started
    assert down.status_code == 503 and down.json()["checks"]["database"] is False
    assert elapsed < 1.0, elapsed
    assert requests.get(f"{web.url}/livez", headers=pod, timeout=5).status_code == 200
    proxy.start()
    _wait(
        lambda: requests.get(f"{web.url}/readyz", headers=pod, timeout=5).status_code == 200,
        "/readyz back to 200 after PostgreSQL returned",
        timeout=10,
    )

    # PostgreSQL that accepts connections and never answers (a lost network, a full server).
    proxy.hang()
    started = time.monotonic()
    hung = requests.get(f"{web.url}/readyz", headers=pod, timeout=5)
    elapsed = time.monotonic() - started
    assert hung.status_code == 503 and hung.json()["checks"]["database"] is False
    assert elapsed < 1.0, elapsed
    proxy.stop()
    proxy.start()
    _wait(
        lambda: requests.get(f"{web.url}/readyz", headers=pod, timeout=5).status_code == 200,
        "/readyz back to 200 after PostgreSQL answered again",
        timeout=10,
    )
