""".env.example copied to .env, as its first line says: a template both readers take alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.deploy.composefile import ENV_EXAMPLE, ROOT, env_file, filled_env

# The settings module reads .env with django-environ (portal/settings/base.py); the probe
# does the same with .env.example, then prints what Django made of it.
PROBE = """
import json, sys
import environ
environ.Env.read_env(sys.argv[1])
import django
django.setup()
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "GRAPH_MAX_RETRY_AFTER": settings.GRAPH_MAX_RETRY_AFTER,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "SECRET_KEY": settings.SECRET_KEY,
    "CUSTOMER_SYNC_LEASE_SECONDS": settings.CUSTOMER_SYNC_LEASE_SECONDS,
    "COMPLIANCE_REPORT_CRONTAB": settings.COMPLIANCE_REPORT_CRONTAB,
    "PORTAL_TRUSTED_PROXY_COUNT": settings.PORTAL_TRUSTED_PROXY_COUNT,
    "MICROSOFT_ALLOW_PRIVATE_HOSTS": settings.MICROSOFT_ALLOW_PRIVATE_HOSTS,
    "db": [db["HOST"], db["NAME"], db["USER"]],
}))
"""


def _start_with(env_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """A process with production settings and nothing but `environment` in its environment."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": "/tmp", **environment}
    return subprocess.run(
        [sys.executable, "-c", PROBE, str(env_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_setting_is_on_a_line_of_its_own_without_a_trailing_comment() -> None:
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and key == key.strip() and key.isupper(), f"line {number}: {line!r}"
        assert "#" not in value, f"line {number}: django-environ keeps '#…' in {key}"
        assert not value.startswith(("'", '"')), f"line {number}: quotes differ between readers"
        assert "${" not in value, f"line {number}: django-environ does not expand {value}"
    keys = [line.partition("=")[0] for line in ENV_EXAMPLE.read_text().splitlines()]
    settings_keys = [k for k in keys if k and not k.startswith("#")]
    assert len(settings_keys) == len(set(settings_keys)), (
        "a key twice: the readers pick differently"
    )


def test_the_template_filled_in_starts_the_portal_with_the_values_it_shows(
    tmp_path: Path,
) -> None:
    filled = filled_env()
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        ENV_EXAMPLE.read_text()
        .replace("DJANGO_SECRET_KEY=\n", f"DJANGO_SECRET_KEY={filled['DJANGO_SECRET_KEY']}\n")
        .replace(
            "PORTAL_ENCRYPTION_KEYS=\n",
            f"PORTAL_ENCRYPTION_KEYS={filled['PORTAL_ENCRYPTION_KEYS']}\n",
        )
    )
    started = _start_with(dotenv)
    assert started.returncode == 0, started.stderr
    seen = json.loads(started.stdout)
    assert seen == {
        "GRAPH_MAX_RETRY_AFTER": 5.0,
        "ALLOWED_HOSTS": ["portal.example.com"],
        "SECRET_KEY": filled["DJANGO_SECRET_KEY"],
        "CUSTOMER_SYNC_LEASE_SECONDS": 120,
        "COMPLIANCE_REPORT_CRONTAB": "0 7 * * 1",
        "PORTAL_TRUSTED_PROXY_COUNT": 1,
        "MICROSOFT_ALLOW_PRIVATE_HOSTS": False,
        "db": ["postgres", "portal", "portal"],
    }


def test_the_unfilled_template_refuses_to_start_and_names_what_is_missing() -> None:
    started = _start_with(ENV_EXAMPLE)
    assert started.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in started.stderr
    assert "PORTAL_ENCRYPTION_KEYS is empty" in started.stderr


def test_the_template_holds_no_usable_secret() -> None:
    values = env_file()
    for key in ("DJANGO_SECRET_KEY", "PORTAL_ENCRYPTION_KEYS", "POSTGRES_PASSWORD", "CADDY_TLS"):
        assert values[key] == "", key
    assert values["DJANGO_SETTINGS_MODULE"] == "portal.settings.production"
