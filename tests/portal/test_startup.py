"""Production settings fail closed: each missing or unsafe variable stops the process at
start-up with a sentence that names it (web: `import portal.wsgi`; `manage.py check`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.production",
    "DJANGO_SECRET_KEY": "startup-test-Zq8v0rJx4mWb7nKc2tYp9sLd5hGf3aVe1uQo6iRj",
    "PORTAL_ENCRYPTION_KEYS": "x18ITJa-qveMSYPJ-ma0Tb3bOBIYtR6APw4FoJnmQVA=",
    "DJANGO_ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal"),
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
}


def _run(*args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in GOOD and not k.startswith("DJANGO_")}
    merged = {**base, **GOOD, **env}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={k: v for k, v in merged.items() if v is not None},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


BAD = [
    ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY is not set"),
    ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY is too weak"),
    ({"DJANGO_SECRET_KEY": "ab" * 30}, "DJANGO_SECRET_KEY is too weak"),
    ({"DJANGO_SECRET_KEY": "django-insecure-" + "x1y2z3w4v5" * 5}, "DJANGO_SECRET_KEY is too weak"),
    ({"PORTAL_ENCRYPTION_KEYS": None}, "PORTAL_ENCRYPTION_KEYS is empty"),
    ({"PORTAL_ENCRYPTION_KEYS": ""}, "PORTAL_ENCRYPTION_KEYS is empty"),
    ({"PORTAL_ENCRYPTION_KEYS": "notakey"}, "PORTAL_ENCRYPTION_KEYS holds something"),
    ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS is not set"),
    ({"DJANGO_ALLOWED_HOSTS": "*"}, "DJANGO_ALLOWED_HOSTS contains '*'"),
    ({"DJANGO_ALLOWED_HOSTS": "portal.example.com,*"}, "DJANGO_ALLOWED_HOSTS contains '*'"),
    ({"DATABASE_URL": None}, "DATABASE_URL is not set"),
    ({"DATABASE_URL": "sqlite:////tmp/portal.sqlite3"}, "DATABASE_URL points at SQLite"),
    ({"REDIS_URL": None}, "REDIS_URL is not set"),
    ({"DATABASE_RANDOM_PAGE_COST": "fast"}, "DATABASE_RANDOM_PAGE_COST must be a number"),
    ({"DATABASE_RANDOM_PAGE_COST": "0"}, "DATABASE_RANDOM_PAGE_COST must be a number"),
]


@pytest.mark.parametrize(("env", "sentence"), BAD)
def test_the_web_process_refuses_to_start_with_a_bad_setting_and_names_it(env, sentence):
    done = _run("-c", "import portal.wsgi", **env)
    assert done.returncode != 0
    assert sentence in done.stderr


@pytest.mark.parametrize(
    ("env", "sentence"),
    [BAD[0], BAD[6], BAD[8], BAD[11], BAD[12]],
)
def test_manage_py_refuses_to_run_with_a_bad_setting_and_names_it(env, sentence):
    done = _run("manage.py", "check", **env)
    assert done.returncode != 0
    assert sentence in done.stderr


def test_without_a_settings_module_every_entry_point_is_production_not_development():
    # The old fallback was portal.settings.dev: DEBUG on and the repository's keys.
    for entry in ("import portal.wsgi", "import portal.celery; portal.celery.app.conf.broker_url"):
        done = _run("-c", entry, DJANGO_SETTINGS_MODULE=None, DJANGO_SECRET_KEY=None)
        assert done.returncode != 0, entry
        assert "DJANGO_SECRET_KEY is not set" in done.stderr
    done = _run("manage.py", "check", DJANGO_SETTINGS_MODULE=None, DJANGO_SECRET_KEY=None)
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in done.stderr


def test_every_problem_is_named_at_once():
    done = _run("-c", "import portal.wsgi", DJANGO_SECRET_KEY=None, REDIS_URL=None)
    assert "DJANGO_SECRET_KEY is not set" in done.stderr
    assert "REDIS_URL is not set" in done.stderr


def test_a_good_production_environment_passes_the_deploy_check_cleanly():
    done = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout


def test_the_deploy_check_warns_when_private_endpoint_hosts_are_allowed():
    done = _run(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING",
        MICROSOFT_ALLOW_PRIVATE_HOSTS="true",
    )  # fmt: skip
    assert done.returncode != 0
    assert "MICROSOFT_ALLOW_PRIVATE_HOSTS" in done.stderr
