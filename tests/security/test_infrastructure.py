"""Infrastructure faults: a dropped database connection is survived by the next request."""

from __future__ import annotations

import psycopg
import pytest
import requests
from django.db import connection


def _terminate_other_backends() -> int:
    """Kill every server connection to the test database except this thread's own."""
    settings = connection.settings_dict
    dsn = (
        f"host={settings['HOST']} port={settings['PORT'] or 5432} "
        f"user={settings['USER']} dbname=postgres"
    )
    if settings.get("PASSWORD"):
        dsn += f" password={settings['PASSWORD']}"
    connection.ensure_connection()
    own = connection.connection.info.backend_pid
    with psycopg.connect(dsn, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> %s AND pid <> pg_backend_pid()",
            (settings["NAME"], own),
        ).fetchall()
    return len(rows)


@pytest.mark.django_db(transaction=True)
def test_a_dropped_database_connection_is_replaced_on_the_next_request(live_server):
    session = requests.Session()
    session.trust_env = False
    first = session.get(f"{live_server.url}/healthz", timeout=10)
    assert first.status_code == 200  # 503 when the database does not answer
    assert _terminate_other_backends() >= 1  # the live server's connection is gone
    # CONN_HEALTH_CHECKS: the next request notices the dead connection and opens a new one.
    again = session.get(f"{live_server.url}/healthz", timeout=10)
    assert again.status_code == 200  # 503 when the database does not answer
