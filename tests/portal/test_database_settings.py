"""The portal's PostgreSQL sessions plan for SSDs (DATABASE_RANDOM_PAGE_COST, default 1.1):
with the server's default of 4 the customer search walks every customer of the region rather
than its trigram indexes (BENCHMARKS.md, issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_portals_database_sessions_use_the_ssd_page_cost():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == "1.1"


@pytest.mark.parametrize(("value", "options"), [("", None), ("2", "-c random_page_cost=2.0")])
def test_the_page_cost_is_the_operators_to_set_or_leave_to_the_server(value, options):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default'].get('OPTIONS', {}).get('options'))",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/portal",
            "DATABASE_RANDOM_PAGE_COST": value,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == str(options)
