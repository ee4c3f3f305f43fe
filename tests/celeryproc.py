"""Celery worker and beat subprocesses for tests: real processes on Redis and the test database,
each in its own process group so a test can SIGKILL it like an OOM killer would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def db_env() -> dict[str, str]:
    """Settings and the test database for a subprocess (call after the database is set up)."""
    from django.db import connection

    db = connection.settings_dict
    return {
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
    }


class CeleryProcess:
    """A `celery worker` or `celery beat` subprocess in its own process group."""

    def __init__(self, args: list[str], env: dict[str, str], log_name: str) -> None:
        (ROOT / "artifacts").mkdir(exist_ok=True)
        self.log_path = ROOT / "artifacts" / log_name
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # kill() takes the whole group, pool children included
        )

    def kill(self) -> None:
        """SIGKILL, as an OOM killer or a lost machine would: no cleanup, no ack."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def start_worker(
    queue: str, name: str, *, pool: str = "solo", concurrency: int = 1, **env: str
) -> CeleryProcess:
    """A worker on `queue`, answering a ping addressed to it by name before this returns."""
    worker = CeleryProcess(
        [
            "worker",
            "--loglevel",
            "INFO",
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "-Q",
            queue,
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        {**db_env(), "CELERY_QUEUE": queue, **env},
        f"celery-{name}.log",
    )
    from portal.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(destination=[f"{name}@{os.uname().nodename}"], timeout=1)
        if replies:
            return worker
        if worker.process.poll() is not None:
            raise RuntimeError(f"The Celery worker {name} exited; see {worker.log_path}")
    worker.kill()
    raise RuntimeError(f"The Celery worker {name} did not answer within 60 s")


def worker_idle_wait(name: str, *, timeout: float = 20.0) -> bool:
    """Wait until the worker `name` runs no task and holds none reserved (True), or `timeout`
    passes (False). A test's database flush must not race a task still reading: a TRUNCATE
    and a task's query deadlock."""
    from portal.celery import app

    node = f"{name}@{os.uname().nodename}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inspect = app.control.inspect(destination=[node], timeout=1)
        active, reserved = inspect.active() or {}, inspect.reserved() or {}
        if node in active and not active[node] and not reserved.get(node):
            return True
        time.sleep(0.2)
    return False
