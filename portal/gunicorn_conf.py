"""gunicorn's settings for the portal (`gunicorn -c python:portal.gunicorn_conf portal.wsgi`).

The access log names the path (`%(U)s`), never the request line with its query string
(`%(r)s`): /auth/callback/?code=… would put authorization codes in the log. No referrer
either: a page's address can carry the same.

Sizing comes from the environment, so one image fits any container: WEB_CONCURRENCY worker
processes (gunicorn's own variable), GUNICORN_THREADS threads each, GUNICORN_TIMEOUT seconds
before a silent worker is restarted, PORT to listen on. The defaults fit 1 CPU and 1 GiB.
"""

from __future__ import annotations

import os

from portal.logging import gunicorn_logconfig


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise SystemExit(f"{name}={raw!r} must be at least 1")
    return value


bind = f"0.0.0.0:{_positive_int('PORT', 8000)}"
workers = _positive_int("WEB_CONCURRENCY", 2)
threads = _positive_int("GUNICORN_THREADS", 4)
worker_class = "gthread"
timeout = _positive_int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _positive_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _positive_int("GUNICORN_KEEPALIVE", 5)
# A worker is replaced after about this many requests (jittered), bounding slow leaks.
max_requests = _positive_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max(1, max_requests // 10)
# Heartbeat files in memory, not on a read-only or slow container disk.
SHM = "/dev/shm"  # noqa: S108 - a tmpfs of the container, not a shared /tmp
worker_tmp_dir = SHM if os.path.isdir(SHM) else None

access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
accesslog = "-"
errorlog = "-"
# JSON (or LOG_FORMAT=text) and redacted, as Django's and Celery's lines (portal/logging.py).
logconfig_dict = gunicorn_logconfig()


def child_exit(server: object, worker: object) -> None:
    """A web worker ended: its live gauges go with it (Prometheus multiprocess mode)."""
    from portal.metrics import child_exit as metrics_child_exit

    metrics_child_exit(worker.pid)  # type: ignore[attr-defined]
