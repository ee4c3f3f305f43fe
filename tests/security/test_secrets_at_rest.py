"""No token, code or secret in logs, the database or Redis after a full agent flow."""

from __future__ import annotations

import json
import logging
import re

import pytest
import redis
from django.conf import settings
from django.db import connection

from compliance.services import compliance_sweep, sweep_start
from regions import token_caches
from tests.provisioning.conftest import form_data

pytestmark = pytest.mark.django_db

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.")


def _secrets(world) -> list[str]:
    values = [a["password"] for a in world["agents"]]
    values += [r["app"]["client_secret"] for r in world["regions"]]
    return values


def _database_text() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 — our own table names
            chunks.extend(str(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def _redis_text() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL)
    chunks = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"string":
            chunks.append(repr(client.get(key)))
        elif kind == b"list":
            chunks.extend(repr(v) for v in client.lrange(key, 0, -1))
        elif kind == b"hash":
            chunks.extend(repr(v) for v in client.hgetall(key).items())
    return "\n".join(chunks)


def test_a_full_agent_flow_leaves_no_secret_in_logs_database_or_redis(
    caplog, sim, world, sign_in, customers
):
    caplog.set_level(logging.DEBUG)
    client = sign_in("agent@contosopartners.com")
    tid = next(c for c in customers["us"] if c.relationship_status == "active").tenant_id
    for page in ("", "users/", "groups/", "devices/", "managed-devices/"):
        assert client.get(f"/customers/{tid}/{page}").status_code == 200
    client.post("/customers/sync/")
    # A compliance sweep (app-only tokens for every customer) and a new customer (Partner
    # Center token, the initial admin password shown once).
    sweep, _ = sweep_start(requested_by="test")
    assert compliance_sweep(sweep_id=sweep.pk) is not None
    created = client.post("/customers/new/", form_data())
    assert created.status_code == 302
    page = client.post(f"{created['Location']}reveal/").content.decode()
    password = re.search(r'data-testid="initial-password">([^<]+)<', page).group(1)
    sim.faults(error_rate=1.0)
    client.get(f"/customers/{tid}/users/?page=abc")

    cache = json.loads(token_caches.session_cache_load(client.session).serialize())
    held = [
        v["secret"]
        for kind in ("RefreshToken", "AccessToken", "IdToken")
        for v in cache.get(kind, {}).values()
    ]
    assert held, "the session holds tokens to look for"
    logs = "\n".join(r.getMessage() for r in caplog.records)
    stores = {"logs": logs, "database": _database_text(), "redis": _redis_text()}
    for name, text in stores.items():
        assert not JWT.search(text), f"a JWT in the {name}"
        for secret in [*_secrets(world), password]:
            assert secret not in text, f"a secret or password in the {name}"
        for token in held:
            assert token not in text, f"a token of the session in the {name}"
