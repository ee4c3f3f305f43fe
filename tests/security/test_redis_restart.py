"""Redis stopped and restarted while the portal and a worker use it.

The test runs a redis-server of its own on a free port (no persistence: what is only in Redis
is lost with it, as after a crash), and points the portal's cache, the Celery app of this
process and a real worker subprocess at it. While Redis is down, pages that need only the
database answer, /healthz names what is down, and jobs asked for stay queued in the database;
once Redis is back, the schedule sends them again and the worker completes them.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from compliance.models import ComplianceSweep
from compliance.tasks import compliance_sweep_watch
from customers.models import SyncRun
from customers.tasks import customers_sync_all
from portal.celery import app
from tests.celeryproc import ROOT, start_worker

log = logging.getLogger(__name__)

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

REDIS_SERVER = "/usr/bin/redis-server"
AGENT = "agent@contosopartners.com"
MANAGER = "manager@contosopartners.com"
ADMIN = "admin@contosopartners.com"  # /healthz shows its checks to admins only


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A throwaway redis-server subprocess that can be stopped and started again."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        # No persistence: a restart loses whatever was only in Redis, as after a crash.
        self.args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed by the child's exit
        self.process = subprocess.Popen(
            [REDIS_SERVER, *self.args],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.1)
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


def _celery_forget_connections(*, close: bool) -> None:
    """Make this process's Celery app reconnect through app.conf on its next send.

    kombu keeps one connection pool per broker URL for the whole process: the pools of the
    usual Redis are only let go (other tests go on using them), ours are closed at the end.
    """
    if close:
        if app.amqp._producer_pool is not None:
            app.amqp._producer_pool.force_close_all()
        if app._pool is not None:
            app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None
    app._local.backend = None


@pytest.fixture
def own_redis(settings: Any) -> Iterator[RedisServer]:
    """Our own redis-server; cache, broker and result backend of this process point at it."""
    assert shutil.which(REDIS_SERVER), (
        f"{REDIS_SERVER} is missing: install it (apt-get install redis-server) to run the "
        "Redis restart test."
    )
    (ROOT / "artifacts").mkdir(exist_ok=True)
    server = RedisServer(_free_port(), ROOT / "artifacts" / "redis-restart.log")
    server.start()
    saved = {
        name: app.conf[name] for name in ("broker_url", "result_backend", "task_default_queue")
    }
    try:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": server.url,
                "KEY_PREFIX": "portal-test",
            }
        }
        settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = server.url
        app.conf.broker_url = app.conf.result_backend = server.url
        app.conf.task_default_queue = f"redis-restart-{os.getpid()}"
        _celery_forget_connections(close=False)
        yield server
    finally:
        server.stop()
        _celery_forget_connections(close=True)
        for name, value in saved.items():
            app.conf[name] = value


def _wait(check: Callable[[], Any], what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"{what} not within {timeout} s")


def _timed_get(client: Client, path: str) -> tuple[Any, float]:
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def test_with_redis_stopped_db_pages_work_healthz_names_it_and_jobs_survive_the_restart(
    own_redis: RedisServer,
    sign_in: Callable[..., Client],
    customers: dict[str, list[Any]],
    sim: Any,
) -> None:
    # Sessions are in the database: a signed-in agent does not need Redis to stay signed in.
    assert django_settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    agent, manager, admin = sign_in(AGENT), sign_in(MANAGER), sign_in(ADMIN)
    queue = app.conf.task_default_queue
    worker = start_worker(
        queue,
        "redis-restart",
        REDIS_URL=own_redis.url,
        CELERY_BROKER_URL=own_redis.url,
        CELERY_RESULT_BACKEND=own_redis.url,
    )
    try:
        healthy = admin.get("/healthz").json()
        assert healthy["status"] == "ok", healthy

        own_redis.stop()

        listing, took = _timed_get(agent, "/customers/")
        assert listing.status_code == 200
        assert customers["us"][0].name in listing.content.decode()
        assert took < 5, f"/customers/ took {took:.1f} s with Redis down"
        log.info("Redis down: /customers/ answered in %.2f s", took)
        for path in ("/compliance/", f"/customers/{customers['us'][0].tenant_id}/"):
            page = manager.get(path)
            assert page.status_code == 200, (path, page.content.decode()[:2000])

        health, took = _timed_get(admin, "/healthz")
        body = health.json()
        assert health.status_code == 200  # the database answers: the process is ready
        assert body["status"] == "degraded"
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["cache"]["ok"] is False
        assert body["checks"]["broker"]["ok"] is False
        assert took < 10, f"/healthz took {took:.1f} s with Redis down"
        log.info("Redis down: /healthz answered in %.2f s", took)

        # Jobs asked for while Redis is down: accepted, and kept in the database.
        started = time.monotonic()
        refresh = agent.post("/customers/sync/")
        took = time.monotonic() - started
        assert refresh.status_code == 200, refresh.content.decode()[:2000]
        assert took < 5, f"Refresh from Microsoft took {took:.1f} s with Redis down"
        log.info("Redis down: Refresh from Microsoft answered in %.2f s", took)
        run = SyncRun.objects.get()
        assert run.status == "queued"
        started = time.monotonic()
        sweep_now = manager.post("/compliance/sweeps/")
        took = time.monotonic() - started
        assert sweep_now.status_code == 200, sweep_now.content.decode()[:2000]
        assert took < 5, f"Sweep now took {took:.1f} s with Redis down"
        log.info("Redis down: Sweep now answered in %.2f s", took)
        sweep = ComplianceSweep.objects.get()
        assert sweep.status == "queued"

        own_redis.start()  # empty: whatever was only in Redis is gone
        restarted = time.monotonic()

        again = _wait(
            lambda: (r := admin.get("/healthz").json())["status"] == "ok" and r,
            "/healthz ok after the restart",
            timeout=30,
        )
        assert again["checks"]["cache"]["ok"] and again["checks"]["broker"]["ok"]
        _wait(
            lambda: app.control.ping(destination=[f"redis-restart@{os.uname().nodename}"]),
            "the worker reconnected to the restarted Redis",
            timeout=60,
        )
        log.info("Redis back: worker answering after %.1f s", time.monotonic() - restarted)
        # The schedule's next runs (as beat sends them) once the jobs have waited long enough.
        long_ago = timezone.now() - timedelta(minutes=10)
        SyncRun.objects.filter(pk=run.pk).update(created_at=long_ago)
        ComplianceSweep.objects.filter(pk=sweep.pk).update(created_at=long_ago)
        customers_sync_all.delay()
        compliance_sweep_watch.delay()
        resent = time.monotonic()

        run = _wait(
            lambda: SyncRun.objects.filter(pk=run.pk, status__in=["done", "failed"]).first(),
            "the queued customer sync completed",
            timeout=90,
        )
        assert run.status == "done", run.error
        sweep = _wait(
            lambda: ComplianceSweep.objects.filter(
                pk=sweep.pk, status__in=["done", "failed"]
            ).first(),
            "the queued compliance sweep completed",
            timeout=90,
        )
        assert sweep.status == "done", sweep.error
        log.info("Redis back: both jobs done %.1f s after the re-send", time.monotonic() - resent)
        # Sent again, not duplicated: one run for the region, one sweep.
        assert SyncRun.objects.filter(region=run.region).count() == 1
        assert ComplianceSweep.objects.count() == 1
    finally:
        worker.stop()
