"""A worker SIGKILLed in the middle of a bulk block: another worker takes the job over and every
user ends blocked once, with one audit row each, and no user PATCHed twice.

Real processes throughout: a solo-pool worker blocks the users of a customer whose Graph
answers slowly (1.5 s per round trip, so the job needs about 10 s) and is killed, the whole
process group, no cleanup, no ack, while a write batch is in flight: its users are marked
"sending" in the database, their PATCHes reach the simulator, their answers are never recorded.
A second worker and beat (watching every second, a 3 s lease) take the job over; the second
worker reads those users again and recognises from Graph's state that they are blocked.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts.models import User
from audit.models import AuditEvent
from customers.actions import Target
from customers.bulk import bulk_start
from customers.models import ActionOutcomeKind, BulkItem, BulkRun, Customer
from customers.services import customers_sync, sync_run_start
from portal.celery import app as celery_app
from regions.clients import graph_as_app
from regions.models import DelegatedGrant
from regions.permissions import ACTION_SCOPES, CUSTOMER_READ_PERMISSIONS
from tests.celeryproc import CeleryProcess, db_env, start_worker

log = logging.getLogger(__name__)

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

MANAGER = "manager@contosopartners.com"
LEASE = "3"
LATENCY_MS = 1500
# Reads, and the delegated writes of block sign-in (the seeded GDAP consents give reads only).
# Reference: https://learn.microsoft.com/en-us/graph/api/user-update
SCOPES = [*CUSTOMER_READ_PERMISSIONS, *ACTION_SCOPES]


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of this test's own: no other worker of the session takes its task."""
    name = f"bulk-kill-{os.getpid()}"
    default = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    yield name
    celery_app.conf.task_default_queue = default


def _wait(check: Callable[[], Any], what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout} s: {list(BulkRun.objects.values())}")


def _beat(queue: str, tmp_path: Any) -> CeleryProcess:
    return CeleryProcess(
        ["beat", "--loglevel", "INFO", "-s", str(tmp_path / "beat-schedule")],
        {
            **db_env(),
            "CELERY_QUEUE": queue,
            "BULK_RUN_WATCH_SECONDS": "1",
            "BULK_RUN_LEASE_SECONDS": LEASE,
            # Only the bulk watch matters here; the others would never be due during the test.
            "CUSTOMER_SYNC_INTERVAL": "86400",
            "CUSTOMER_SYNC_WATCH_SECONDS": "3600",
            "CONSENT_RUN_WATCH_SECONDS": "3600",
            "COMPLIANCE_SWEEP_INTERVAL": "86400",
            "COMPLIANCE_SWEEP_WATCH_SECONDS": "3600",
            "PROVISIONING_TICK_SECONDS": "3600",
        },
        "celery-bulk-beat.log",
    )


def _patches(sim: Any, tenant: str) -> list[tuple[str, float]]:
    """(user id, when the simulator ran it) of every PATCH /users/{id} inside a $batch."""
    found = []
    for entry in sim.requests()["requests"]:
        if entry["kind"] != "graph" or entry["tenant"] != tenant:
            continue
        for item in entry.get("items") or []:
            if item["method"] == "PATCH" and item["path"].startswith("/users/"):
                found.append((item["path"].rsplit("/", 1)[1], item["at"]))
    return found


def test_a_bulk_block_whose_worker_is_killed_mid_write_is_finished_once_by_another(
    sim: Any, world: dict[str, Any], regions: dict[str, Any], sign_in: Any, queue: str, tmp_path
) -> None:
    us = next(r for r in world["regions"] if r["slug"] == "us")
    tenant = next(
        c["tenant_id"]
        for c in us["customers"]
        if c["relationship"]["type"] == "gdap"
        and c["relationship"]["status"] == "active"
        and not c.get("big")
    )
    sim.consent(tenant, consented=True, scopes=SCOPES)
    sync, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=sync.pk)
    app_graph = graph_as_app(region=regions["us"], tenant_id=tenant)
    users = app_graph.get("/users", params={"$top": 999, "$select": "id,accountEnabled"})["value"]
    # Not the customer's own admins: Entra lets a User Administrator block neither a Global
    # Administrator (a sensitive action) nor, here, the point of this test.
    # Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-perform-sensitive-actions
    customer = next(c for c in us["customers"] if c["tenant_id"] == tenant)
    admins = {a["user_id"] for a in customer["admins"]}
    ids = [u["id"] for u in users if u["accountEnabled"] is not False and u["id"] not in admins]
    assert len(ids) > 40  # three chunks of reads and writes
    client = sign_in(MANAGER)
    sim.faults(latency_ms=LATENCY_MS, tenant=tenant)
    doomed = start_worker(queue, "bulk-doomed", BULK_RUN_LEASE_SECONDS=LEASE)
    second = beat = None
    try:
        run, created = bulk_start(
            session=client.session,
            customer=Customer.objects.get(tenant_id=tenant),
            user=User.objects.get(upn=MANAGER),
            target=Target.USER,
            action_name="block-sign-in",
            object_ids=ids,
        )
        assert created
        items = BulkItem.objects.filter(run=run)
        # Kill it while the second chunk's writes are on their way: marked sending (committed
        # before they left), answers not recorded.
        _wait(
            lambda: (
                items.filter(finished_at__isnull=False).count() >= 20
                and items.filter(outcome=ActionOutcomeKind.SENDING).exists()
            ),
            "a write batch in flight after the first chunk",
            timeout=60,
        )
        # Their batch leaves right after that commit and takes 1.5 s to be answered: a moment
        # later it has left and is not answered yet.
        time.sleep(0.6)
        doomed.kill()
        killed_at = time.monotonic()
        in_flight = set(
            items.filter(outcome=ActionOutcomeKind.SENDING).values_list("object_id", flat=True)
        )
        finished_before = set(
            items.filter(finished_at__isnull=False).values_list("object_id", flat=True)
        )
        assert in_flight and len(finished_before) < len(ids)
        killed = BulkRun.objects.get(pk=run.pk)
        assert killed.status == BulkRun.Status.RUNNING and killed.attempts == 1
        time.sleep(LATENCY_MS / 1000 + 0.5)  # the simulator applies the PATCHes it was sent

        sim.faults(latency_ms=0, tenant=tenant)
        resumed_at = time.time()
        second = start_worker(queue, "bulk-second", BULK_RUN_LEASE_SECONDS=LEASE)
        beat = _beat(queue, tmp_path)
        done = _wait(
            lambda: BulkRun.objects.filter(pk=run.pk, status=BulkRun.Status.DONE).first(),
            "the bulk block finished by the second worker",
            timeout=90,
        )
        log.info(
            "killed with %d of %d finished and %d in flight; finished %.1f s later",
            len(finished_before),
            len(ids),
            len(in_flight),
            time.monotonic() - killed_at,
        )
    finally:
        doomed.stop()
        for process in (beat, second):
            if process is not None:
                process.stop()

    assert (done.total, done.succeeded, done.failed, done.attempts) == (len(ids), len(ids), 0, 2)
    # The grant is ended just after the run is marked done (the worker stopped since).
    done.refresh_from_db()
    assert done.grant_id is None and not DelegatedGrant.objects.exists()
    final = {i.object_id: i for i in BulkItem.objects.filter(run=run)}
    assert {i.outcome for i in final.values()} == {ActionOutcomeKind.DONE}
    # Every user is blocked, as a second read shows.
    after = app_graph.get("/users", params={"$top": 999, "$select": "id,accountEnabled"})["value"]
    assert {u["id"] for u in after if u["accountEnabled"] is False} >= set(ids)
    # Exactly one audit row per user, each "done".
    audits = [
        a
        for a in AuditEvent.objects.filter(action="customer.action.block-sign-in")
        if a.detail.get("job") == run.pk
    ]
    assert Counter(a.detail["object_id"] for a in audits) == dict.fromkeys(ids, 1)
    assert {a.detail["result"] for a in audits} == {"done"}
    # No user PATCHed twice. The killed worker's in-flight PATCHes reached the simulator (it
    # runs a request it was sent even when the client is gone): the second worker read those
    # users again, found them blocked and recorded them done by the earlier attempt.
    patches = _patches(sim, tenant)
    assert Counter(user_id for user_id, _ in patches) == dict.fromkeys(ids, 1)
    sent_by_the_killed = {user_id for user_id, at in patches if at < resumed_at}
    recognised = in_flight & sent_by_the_killed
    # Normally the kill hits between send and record (the batch left within 0.6 s of its
    # commit); on a machine so loaded that it had not left, the second worker sent those
    # writes itself, once each (checked above). tests/customers/test_bulk.py proves the
    # recognition without timing.
    if not recognised:
        log.warning("the killed worker's write batch had not left: nothing to recognise")
    for user_id in recognised:
        assert "blocked by an earlier attempt" in final[user_id].message
        assert final[user_id].before == {"accountEnabled": True}
    for user_id in set(ids) - sent_by_the_killed:
        assert "earlier attempt" not in final[user_id].message
