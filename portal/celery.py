"""The Celery app: configured from Django settings under the CELERY_ namespace.

Workers keep Django's LOGGING (CELERY_WORKER_HIJACK_ROOT_LOGGER = False): the same format
(JSON in production) and the same redacting filter. While a task runs, its Celery task id is
the request id of its log lines (and so of its Microsoft calls' log lines), and
portal.logging.CeleryTaskFilter adds task_id and task_name; portal.metrics times each task.
"""

import contextlib
import os
import time
from typing import Any

from celery import Celery, signals

from portal import metrics, requestid

# Unset means production, which refuses to start without its secrets: development and
# tests name their settings module (scripts/run.sh, scripts/test.sh, pyproject.toml).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.production")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_bound: dict[str, Any] = {}
_started: dict[str, float] = {}


# Solo and prefork pools run one task per process at a time: the threads a task starts may
# then take its id from the process (portal.requestid.process_task). Not with thread pools.
_one_task_per_process = [False]


@signals.worker_init.connect
def _note_pool(sender: Any = None, **_: Any) -> None:
    pool = str(getattr(sender, "pool_cls", "")).lower()
    _one_task_per_process[0] = not any(kind in pool for kind in ("thread", "gevent", "eventlet"))


@signals.task_prerun.connect
def _bind_task_request_id(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id:
        _bound[task_id] = requestid.bind(task_id)
        _started[task_id] = time.monotonic()
        if _one_task_per_process[0]:
            requestid.process_task_set((task_id, getattr(task, "name", "")))


@signals.task_postrun.connect
def _unbind_task_request_id(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    started = _started.pop(task_id, None) if task_id else None
    if started is not None and task is not None:
        metrics.record_task(task.name, state or "UNKNOWN", time.monotonic() - started)
    if _one_task_per_process[0]:
        requestid.process_task_set(None)
    token = _bound.pop(task_id, None) if task_id else None
    if token is not None:
        # Bound in another context (an eager task in a thread): nothing to undo here.
        with contextlib.suppress(ValueError):
            requestid.unbind(token)


@signals.worker_ready.connect
def _serve_worker_metrics(**_: Any) -> None:
    """METRICS_WORKER_PORT: the worker's metrics (its task durations, its Microsoft calls) on
    that port, for a scraper on the pod network; with PROMETHEUS_MULTIPROC_DIR, all children's."""
    port = os.environ.get("METRICS_WORKER_PORT")
    if port:
        from prometheus_client import start_http_server

        start_http_server(int(port), registry=metrics.registry())
