"""deploy/backup/backup.sh and restore.sh on scratch databases of the test run's PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "deploy" / "backup" / "backup.sh"
RESTORE = ROOT / "deploy" / "backup" / "restore.sh"


def _server_url(database: str) -> str:
    """The test run's PostgreSQL (DATABASE_URL), with another database name."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.fail("The backup tests need PostgreSQL: set DATABASE_URL (scripts/test.sh does).")
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


@pytest.fixture
def scratch_database() -> Iterator[str]:
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: apt-get install postgresql-client")
    name = f"backup_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _server_url(name)
    finally:
        with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(script: Path, *args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("PG_EXEC", None)
    return subprocess.run(
        ["bash", str(script), *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_row_backed_up_survives_deletion_and_comes_back_on_restore(
    scratch_database: str, tmp_path: Path
) -> None:
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO customers VALUES (1, 'Contoso'), (2, 'Fabrikam')")
    dump = tmp_path / "nightly" / "portal.dump"

    backed_up = _run(BACKUP, str(dump), database_url=scratch_database)
    assert backed_up.returncode == 0, backed_up.stderr
    assert backed_up.stdout.strip() == str(dump)
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert not dump.with_name("portal.dump.partial").exists()

    with psycopg.connect(scratch_database, autocommit=True) as conn:
        conn.execute("DELETE FROM customers WHERE id = 1")
        conn.execute("INSERT INTO customers VALUES (3, 'Written after the backup')")

    restored = _run(RESTORE, str(dump), "--yes", database_url=scratch_database)
    assert restored.returncode == 0, restored.stderr
    with psycopg.connect(scratch_database) as conn:
        rows = conn.execute("SELECT id, name FROM customers ORDER BY id").fetchall()
    assert rows == [(1, "Contoso"), (2, "Fabrikam")]


@pytest.mark.django_db
def test_the_portals_own_schema_restores_into_an_empty_database(
    scratch_database: str, tmp_path: Path
) -> None:
    """The real thing: the test database the portal migrated, dumped and restored elsewhere."""
    source = _server_url(connection.settings_dict["NAME"])  # the migrated test database
    dump = tmp_path / "portal.dump"
    backed_up = _run(BACKUP, str(dump), database_url=source)
    assert backed_up.returncode == 0, backed_up.stderr

    restored = _run(RESTORE, str(dump), "--yes", database_url=scratch_database)
    assert restored.returncode == 0, restored.stderr
    with psycopg.connect(scratch_database) as conn:
        applied = conn.execute("SELECT count(*) FROM django_migrations").fetchone()
    assert applied is not None and applied[0] > 0


def test_a_restore_without_yes_changes_nothing(scratch_database: str, tmp_path: Path) -> None:
    dump = tmp_path / "portal.dump"
    assert _run(BACKUP, str(dump), database_url=scratch_database).returncode == 0
    refused = _run(RESTORE, str(dump), database_url=scratch_database)
    assert refused.returncode == 2
    assert "--yes" in refused.stderr


def test_a_backup_of_an_unreachable_database_fails_and_leaves_no_file(tmp_path: Path) -> None:
    dump = tmp_path / "portal.dump"
    failed = _run(BACKUP, str(dump), database_url=_server_url("no_such_database_here"))
    assert failed.returncode != 0
    assert not dump.exists()
    assert not dump.with_name("portal.dump.partial").exists()
