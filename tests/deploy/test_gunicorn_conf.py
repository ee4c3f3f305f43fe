"""portal/gunicorn_conf.py: sized from the environment, access log without query strings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = (
    "import json, portal.gunicorn_conf as c; print(json.dumps({k: getattr(c, k) for k in "
    "('bind', 'workers', 'threads', 'timeout', 'worker_class', 'access_log_format')}))"
)


def _config(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "WEB_", "PORT"))}
    return subprocess.run(
        [sys.executable, "-c", READ],
        cwd=ROOT,
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_without_settings_gunicorn_gets_defaults_for_one_cpu() -> None:
    config = json.loads(_config().stdout)
    assert config["bind"] == "0.0.0.0:8000"
    assert (config["workers"], config["threads"], config["timeout"]) == (2, 4, 60)
    assert config["worker_class"] == "gthread"


def test_workers_threads_timeout_and_port_come_from_the_environment() -> None:
    config = json.loads(
        _config(
            WEB_CONCURRENCY="5", GUNICORN_THREADS="8", GUNICORN_TIMEOUT="90", PORT="9000"
        ).stdout
    )
    assert config["bind"] == "0.0.0.0:9000"
    assert (config["workers"], config["threads"], config["timeout"]) == (5, 8, 90)


def test_a_size_that_is_not_a_positive_number_stops_start_up_naming_the_variable() -> None:
    for bad in ("four", "0", "-1"):
        result = _config(WEB_CONCURRENCY=bad)
        assert result.returncode != 0
        assert "WEB_CONCURRENCY" in result.stderr


def test_the_access_log_names_the_path_never_the_query_string() -> None:
    config = json.loads(_config().stdout)
    assert "%(U)s" in config["access_log_format"]
    assert "%(r)s" not in config["access_log_format"]
    assert "%(q)s" not in config["access_log_format"]
    assert "%(f)s" not in config["access_log_format"]  # the referrer carries addresses too
