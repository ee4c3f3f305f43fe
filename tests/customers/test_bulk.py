"""Bulk actions (customers/bulk.py) against the simulator, the job run in-process as the task
would run it: two round trips per 20 users, per-item results and audit, refusals before any
write, isolation re-checked in the worker, Intune pacing, no second write after a takeover,
throttling that ends in results.
# Reference: https://learn.microsoft.com/en-us/graph/json-batching
# Reference: https://learn.microsoft.com/en-us/graph/api/user-update
# Reference: https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions
# Reference: https://learn.microsoft.com/en-us/graph/throttling-limits#intune-service-limits
"""

from __future__ import annotations

import base64
import json
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditEvent
from customers.action_calls import ActionParams, Write, plan, reads
from customers.actions import ACTIONS_BY_NAME, Target
from customers.bulk import BULK_ACTIONS, BulkRefused, bulk_execute, bulk_ids_clean, bulk_start
from customers.models import ActionOutcomeKind, BulkItem, BulkRun, Customer
from customers.services import customers_sync, sync_run_start
from portal.celery import app as celery_app
from portal.runs import run_claim
from regions import throttle
from regions.clients import graph_as_app
from regions.delegation import graph_as_grant
from regions.models import DelegatedGrant
from regions.permissions import CUSTOMER_READ_PERMISSIONS

pytestmark = pytest.mark.django_db

MANAGER = "manager@contosopartners.com"
AGENT = "agent@contosopartners.com"
READS = list(CUSTOMER_READ_PERMISSIONS)
# The delegated write permissions of the actions (the seeded GDAP consents give reads only).
# Reference: https://learn.microsoft.com/en-us/graph/permissions-reference
WRITES = [
    "User.EnableDisableAccount.All",
    "User.RevokeSessions.All",
    "DeviceManagementManagedDevices.PrivilegedOperations.All",
]


@pytest.fixture
def tenant(world: dict[str, Any], sim: Any, regions: dict[str, Any]) -> str:
    """A GDAP customer of the US region whose app consent includes the actions' writes,
    synced (its relationships and access assignments known to the portal)."""
    us = next(r for r in world["regions"] if r["slug"] == "us")
    tenant_id = next(
        c["tenant_id"]
        for c in us["customers"]
        if c["relationship"]["type"] == "gdap"
        and c["relationship"]["status"] == "active"
        and not c.get("big")
    )
    sim.consent(tenant_id, consented=True, scopes=READS + WRITES)
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)
    return tenant_id


def _graph(regions: dict[str, Any], tenant: str) -> Any:
    return graph_as_app(region=regions["us"], tenant_id=tenant)


def _users(regions: dict[str, Any], tenant: str) -> list[dict[str, Any]]:
    return _graph(regions, tenant).get(
        "/users", params={"$top": 999, "$select": "id,displayName,accountEnabled"}
    )["value"]


def _enabled(regions: dict[str, Any], tenant: str, n: int) -> list[str]:
    ids = [u["id"] for u in _users(regions, tenant) if u["accountEnabled"] is not False]
    assert len(ids) >= n
    return ids[:n]


def _account_enabled(regions: dict[str, Any], tenant: str, user_id: str) -> bool:
    return _graph(regions, tenant).get(f"/users/{user_id}", params={"$select": "accountEnabled"})[
        "accountEnabled"
    ]


def _start(
    client: Any, tenant: str, action: str, ids: list[str], *, target: Target = Target.USER
) -> tuple[BulkRun, bool]:
    return bulk_start(
        session=client.session,
        customer=Customer.objects.get(tenant_id=tenant),
        user=User.objects.get(upn=MANAGER),
        target=target,
        action_name=action,
        object_ids=ids,
    )


class Log:
    """The simulator's requests since it was made, batches opened into their items."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.before = sim.requests()["counters"]

    def entries(self) -> list[dict[str, Any]]:
        snap = self.sim.requests()
        total = sum(snap["counters"].get(k, 0) - self.before.get(k, 0) for k in snap["counters"])
        assert total <= len(snap["requests"]), "the request log overflowed"
        return snap["requests"][-total:] if total else []

    def counts(self) -> dict[str, int]:
        after = self.sim.requests()["counters"]
        return {k: after.get(k, 0) - self.before.get(k, 0) for k in ("token", "graph")}

    def graph(self, tenant: str) -> list[dict[str, Any]]:
        return [e for e in self.entries() if e["kind"] == "graph" and e["tenant"] == tenant]

    def items(self, tenant: str) -> list[dict[str, Any]]:
        """Every Graph request to `tenant`, the ones inside a $batch as their own."""
        found = []
        for entry in self.graph(tenant):
            found.extend(entry.get("items") or [entry])
        return found

    def writes(self, tenant: str) -> list[dict[str, Any]]:
        return [i for i in self.items(tenant) if i["method"] != "GET"]


def _items(run: BulkRun) -> dict[str, BulkItem]:
    return {i.object_id: i for i in BulkItem.objects.filter(run=run)}


def _audits(run: BulkRun) -> list[AuditEvent]:
    return [a for a in AuditEvent.objects.filter(action__startswith="customer.action.")
            if a.detail.get("job") == run.pk]  # fmt: skip


def test_a_manager_blocks_30_users_in_two_batches_of_reads_and_two_of_writes(
    sim, sign_in, regions, tenant
):
    client = sign_in(MANAGER)
    ids = _enabled(regions, tenant, 30)
    run, created = _start(client, tenant, "block-sign-in", ids)
    assert created and run.total == 30 and run.step == "Queued"
    log = Log(sim)

    done = bulk_execute(run_id=run.pk)

    assert done is not None and done.status == BulkRun.Status.DONE, done.error
    assert (done.succeeded, done.failed, done.step) == (30, 0, "Done")
    batches = log.graph(tenant)
    assert [b["path"] for b in batches] == ["/graph/v1.0/$batch"] * 4
    assert [[i["method"] for i in b["items"]] for b in batches] == [
        ["GET"] * 20,
        ["PATCH"] * 20,
        ["GET"] * 10,
        ["PATCH"] * 10,
    ]
    assert sorted(i["path"].rsplit("/", 1)[1] for i in log.writes(tenant)) == sorted(ids)
    # A second read shows every one of them blocked.
    assert not any(_account_enabled(regions, tenant, user_id) for user_id in ids)
    items = _items(run)
    assert {i.outcome for i in items.values()} == {ActionOutcomeKind.DONE}
    assert all(i.name and i.finished_at and i.sent_at for i in items.values())
    assert all(i.before == {"accountEnabled": True} for i in items.values())
    assert all(i.after == {"accountEnabled": False} for i in items.values())
    # The manager's tokens lent to the job are gone with it.
    assert done.grant_id is None and not DelegatedGrant.objects.exists()


def test_every_user_of_a_bulk_block_has_one_audit_row_with_before_and_after(
    sim, sign_in, regions, tenant
):
    client = sign_in(MANAGER)
    ids = _enabled(regions, tenant, 3)
    run, _ = _start(client, tenant, "block-sign-in", ids)

    bulk_execute(run_id=run.pk)

    audits = _audits(run)
    assert sorted(a.detail["object_id"] for a in audits) == sorted(ids)
    for audit in audits:
        assert audit.action == "customer.action.block-sign-in"
        assert audit.actor == f"{MANAGER} (bulk job {run.pk})"
        assert audit.user.upn == MANAGER and str(audit.tenant_id) == tenant
        assert audit.region == "us"
        assert audit.detail["before"] == {"accountEnabled": True}
        assert audit.detail["after"] == {"accountEnabled": False}
        assert audit.detail["result"] == "done" and audit.detail["name"]
        assert "can no longer sign in" in audit.detail["message"]
    start = AuditEvent.objects.get(action="customer.bulk.start")
    assert start.detail == {"action": "block-sign-in", "target": "user", "count": 3, "run": run.pk}
    assert str(start.tenant_id) == tenant


def test_users_already_blocked_are_already_and_unknown_ids_no_longer_exist(
    sim, sign_in, regions, tenant
):
    client = sign_in(MANAGER)
    blocked, fresh = _enabled(regions, tenant, 5)[:2], _enabled(regions, tenant, 5)[2:]
    first, _ = _start(client, tenant, "block-sign-in", blocked)
    bulk_execute(run_id=first.pk)
    gone = [str(uuid.uuid4()), str(uuid.uuid4())]
    run, _ = _start(client, tenant, "block-sign-in", blocked + fresh + gone)
    log = Log(sim)

    done = bulk_execute(run_id=run.pk)

    assert done.status == BulkRun.Status.DONE and (done.succeeded, done.failed) == (5, 2)
    items = _items(run)
    name = Customer.objects.get(tenant_id=tenant).name
    for user_id in blocked:
        assert items[user_id].outcome == ActionOutcomeKind.ALREADY
        assert "was already blocked; nothing changed" in items[user_id].message
    for user_id in fresh:
        assert items[user_id].outcome == ActionOutcomeKind.DONE
    for user_id in gone:
        assert items[user_id].outcome == ActionOutcomeKind.NOT_FOUND
        assert items[user_id].message == f"This user no longer exists in {name}."
        assert items[user_id].sent_at is None
    # Only the three that needed it were written.
    assert sorted(w["path"].rsplit("/", 1)[1] for w in log.writes(tenant)) == sorted(fresh)


def test_unblocking_in_bulk_lets_blocked_users_sign_in_again(sim, sign_in, regions, tenant):
    client = sign_in(MANAGER)
    ids = _enabled(regions, tenant, 4)
    bulk_execute(run_id=_start(client, tenant, "block-sign-in", ids)[0].pk)

    run = bulk_execute(run_id=_start(client, tenant, "unblock-sign-in", ids)[0].pk)

    assert run.status == BulkRun.Status.DONE and run.succeeded == 4
    assert all(_account_enabled(regions, tenant, user_id) for user_id in ids)


def test_an_agent_is_refused_a_bulk_action_and_nothing_starts(sim, sign_in, regions, tenant):
    client = sign_in(AGENT)
    ids = _enabled(regions, tenant, 2)
    customer = Customer.objects.get(tenant_id=tenant)

    with pytest.raises(BulkRefused) as refused:
        bulk_start(
            session=client.session,
            customer=customer,
            user=User.objects.get(upn=AGENT),
            target=Target.USER,
            action_name="revoke-sessions",  # an agent may revoke one user's sessions
            object_ids=ids,
        )

    assert "Bulk actions are for managers" in refused.value.message
    assert not BulkRun.objects.exists() and not DelegatedGrant.objects.exists()


def test_a_manager_whose_groups_lack_user_administrator_is_refused_before_any_write(
    sim, sign_in, regions, tenant
):
    # The "L1 no Intune" group holds Directory Readers and Helpdesk Administrator here.
    sim.agent_groups(MANAGER, ["L1 no Intune"])
    client = sign_in(MANAGER)
    ids = _enabled(regions, tenant, 3)
    log = Log(sim)

    with pytest.raises(BulkRefused) as refused:
        _start(client, tenant, "block-sign-in", ids)

    assert "needs User Administrator in this customer" in refused.value.message
    assert not BulkRun.objects.exists() and not DelegatedGrant.objects.exists()
    assert log.writes(tenant) == []
    assert not [e for e in log.entries() if e["method"] == "PATCH"]


def test_when_microsoft_refuses_each_write_every_item_says_so_and_the_job_ends(
    sim, sign_in, regions, tenant
):
    client = sign_in(MANAGER)
    ids = _enabled(regions, tenant, 3)
    run, _ = _start(client, tenant, "block-sign-in", ids)
    # After the start, the manager's groups lose User Administrator in Microsoft's world.
    sim.agent_groups(MANAGER, ["L1 no Intune"])

    done = bulk_execute(run_id=run.pk)

    assert done.status == BulkRun.Status.DONE and (done.succeeded, done.failed) == (0, 3)
    for item in _items(run).values():
        assert item.outcome == ActionOutcomeKind.REFUSED
        assert "(HTTP 403)" in item.message and "User Administrator" in item.message
        assert item.after == item.before == {"accountEnabled": True}
    assert all(_account_enabled(regions, tenant, user_id) for user_id in ids)


def test_a_second_start_while_one_is_unfinished_returns_the_first(sim, sign_in, regions, tenant):
    client = sign_in(MANAGER)
    ids = _enabled(regions, tenant, 4)
    first, created = _start(client, tenant, "block-sign-in", ids[:2])

    second, again = _start(client, tenant, "revoke-sessions", ids[2:])

    assert created and not again and second.pk == first.pk
    assert BulkRun.objects.count() == 1 and DelegatedGrant.objects.count() == 1
    assert sorted(BulkItem.objects.values_list("object_id", flat=True)) == sorted(ids[:2])


def test_the_task_message_holds_only_the_run_id(
    sim, sign_in, regions, tenant, django_capture_on_commit_callbacks
):
    queue = f"bulk-message-{uuid.uuid4().hex}"
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    default = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    client = sign_in(MANAGER)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run, _ = _start(client, tenant, "block-sign-in", _enabled(regions, tenant, 3))
        raw = broker.lrange(queue, 0, -1)
    finally:
        celery_app.conf.task_default_queue = default
        broker.delete(queue)

    assert len(raw) == 1
    message = json.loads(raw[0])
    assert message["headers"]["task"] == "customers.tasks.bulk_run"
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert (args, kwargs) == ([run.pk], {})
    text = raw[0].decode()
    assert str(run.grant_id) not in text and "eyJ" not in text
    assert client.session.session_key not in text


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        ({"region": "eu"}, "no longer belongs to the"),
        ({"role": Role.AGENT}, "no longer has the Manager role"),
        ({"is_active": False}, "portal account is disabled"),
    ],
)
def test_a_run_whose_user_moved_region_or_lost_the_role_fails_without_any_graph_call(
    sim, sign_in, regions, tenant, change, sentence
):
    client = sign_in(MANAGER)
    run, _ = _start(client, tenant, "block-sign-in", _enabled(regions, tenant, 2))
    manager = User.objects.get(upn=MANAGER)
    if "region" in change:
        manager.region = regions[change["region"]]
    else:
        for name, value in change.items():
            setattr(manager, name, value)
    manager.save()
    log = Log(sim)

    done = bulk_execute(run_id=run.pk)

    assert done.status == BulkRun.Status.FAILED and sentence in done.error
    assert log.counts() == {"token": 0, "graph": 0}
    assert not DelegatedGrant.objects.exists() and done.grant_id is None
    assert set(BulkItem.objects.filter(run=run).values_list("outcome", flat=True)) == {"pending"}


def test_a_run_without_its_grant_fails_with_a_sentence_and_no_graph_call(
    sim, sign_in, regions, tenant
):
    client = sign_in(MANAGER)
    run, _ = _start(client, tenant, "block-sign-in", _enabled(regions, tenant, 2))
    DelegatedGrant.objects.all().delete()
    log = Log(sim)

    done = bulk_execute(run_id=run.pk)

    assert done.status == BulkRun.Status.FAILED and "Start the job again" in done.error
    assert log.counts()["graph"] == 0


def _devices(regions: dict[str, Any], tenant: str, n: int) -> list[str]:
    found = _graph(regions, tenant).get(
        "/deviceManagement/managedDevices", params={"$top": n, "$select": "id"}
    )["value"]
    assert len(found) == n
    return [d["id"] for d in found]


def _action_results(regions: dict[str, Any], tenant: str, device_id: str) -> list[dict]:
    return _graph(regions, tenant).get(
        f"/deviceManagement/managedDevices/{device_id}",
        params={"$select": "id,deviceActionResults"},
    )["deviceActionResults"]


def test_a_bulk_sync_of_intune_devices_is_paced_under_the_write_limit(
    sim, sign_in, regions, tenant, settings
):
    settings.BULK_INTUNE_WRITES = 3
    settings.BULK_INTUNE_WINDOW = 1.0
    client = sign_in(MANAGER)
    ids = _devices(regions, tenant, 8)
    run, _ = _start(client, tenant, "sync", ids, target=Target.DEVICE)
    log = Log(sim)

    done = bulk_execute(run_id=run.pk)

    assert done.status == BulkRun.Status.DONE and done.succeeded == 8, done.error
    writes = log.writes(tenant)
    assert sorted(w["path"].split("/")[-2] for w in writes) == sorted(ids)
    assert {w["path"].rsplit("/", 1)[1] for w in writes} == {"syncDevice"}
    stamps = sorted(w["at"] for w in writes)
    # In any 1-second window the simulator saw at most 3 of them.
    assert max(sum(t <= u < t + 1.0 for u in stamps) for t in stamps) <= 3
    assert stamps[-1] - stamps[0] >= 2.0  # 8 writes at 3 per second need two waits
    for device_id in ids:
        assert [r["actionName"] for r in _action_results(regions, tenant, device_id)] == [
            "syncDevice"
        ]


def test_a_bulk_retire_of_a_device_already_retiring_sends_nothing_for_it(
    sim, sign_in, regions, tenant
):
    client = sign_in(MANAGER)
    ids = _devices(regions, tenant, 3)
    bulk_execute(run_id=_start(client, tenant, "retire", ids[:1], target=Target.DEVICE)[0].pk)
    log = Log(sim)

    run = bulk_execute(run_id=_start(client, tenant, "retire", ids, target=Target.DEVICE)[0].pk)

    items = _items(run)
    assert items[ids[0]].outcome == ActionOutcomeKind.ALREADY
    assert "already pending" in items[ids[0]].message
    assert [items[i].outcome for i in ids[1:]] == [ActionOutcomeKind.DONE] * 2
    assert all(items[i].after == {"pendingActions": ["retire"]} for i in ids[1:])
    assert sorted(w["path"].split("/")[-2] for w in log.writes(tenant)) == sorted(ids[1:])


def test_an_item_left_sending_by_a_killed_worker_is_not_written_twice(
    sim, sign_in, regions, tenant
):
    client = sign_in(MANAGER)
    ids = _enabled(regions, tenant, 3)
    run, _ = _start(client, tenant, "revoke-sessions", ids)
    log = Log(sim)
    # The doomed worker: claims the run, marks the first item sending, sends its write through
    # the same builders, and dies before recording the answer.
    claimed = run_claim(BulkRun, pk=run.pk)
    item = BulkItem.objects.filter(run=run).order_by("pk").first()
    action = ACTIONS_BY_NAME[(Target.USER, "revoke-sessions")]
    customer = Customer.objects.get(tenant_id=tenant)
    graph = graph_as_grant(grant_id=str(run.grant_id), region=regions["us"], tenant_id=tenant)
    first = graph.batch(reads(action, item.object_id, ActionParams(), prefix="0:"))
    write = plan(action, item.object_id, ActionParams(), first, prefix="0:", customer=customer)
    assert isinstance(write, Write)
    item.outcome, item.sent_at, item.before = "sending", timezone.now(), write.done.before
    item.name = write.done.name
    item.save()
    assert graph.batch([write.request])[write.request.id].ok
    BulkRun.objects.filter(pk=claimed.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=BulkRun.lease_seconds() + 1)
    )

    done = bulk_execute(run_id=run.pk)

    assert done.status == BulkRun.Status.DONE and done.attempts == 2
    assert done.succeeded == 3
    revocations = Counter(
        w["path"].split("/")[-2]
        for w in log.writes(tenant)
        if w["path"].endswith("/revokeSignInSessions")
    )
    assert revocations == dict.fromkeys(ids, 1)
    recovered = BulkItem.objects.get(pk=item.pk)
    assert recovered.outcome == ActionOutcomeKind.DONE
    assert "revoked by an earlier attempt" in recovered.message
    assert recovered.before == write.done.before
    audits = Counter(a.detail["object_id"] for a in _audits(run))
    assert audits == dict.fromkeys(ids, 1)


def test_a_user_blocked_by_a_killed_worker_is_recognised_and_recorded_done(
    sim, sign_in, regions, tenant
):
    client = sign_in(MANAGER)
    ids = _enabled(regions, tenant, 2)
    run, _ = _start(client, tenant, "block-sign-in", ids)
    claimed = run_claim(BulkRun, pk=run.pk)
    item = BulkItem.objects.get(run=run, object_id=ids[0])
    action = ACTIONS_BY_NAME[(Target.USER, "block-sign-in")]
    customer = Customer.objects.get(tenant_id=tenant)
    graph = graph_as_grant(grant_id=str(run.grant_id), region=regions["us"], tenant_id=tenant)
    first = graph.batch(reads(action, item.object_id, ActionParams(), prefix="0:"))
    write = plan(action, item.object_id, ActionParams(), first, prefix="0:", customer=customer)
    item.outcome, item.sent_at, item.before = "sending", timezone.now(), write.done.before
    item.save()
    assert graph.batch([write.request])[write.request.id].ok
    BulkRun.objects.filter(pk=claimed.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=BulkRun.lease_seconds() + 1)
    )
    log = Log(sim)

    done = bulk_execute(run_id=run.pk)

    assert done.status == BulkRun.Status.DONE and done.succeeded == 2
    assert [w["path"].rsplit("/", 1)[1] for w in log.writes(tenant)] == [ids[1]]
    recovered = BulkItem.objects.get(pk=item.pk)
    assert recovered.outcome == ActionOutcomeKind.DONE
    assert "blocked by an earlier attempt" in recovered.message
    assert (recovered.before, recovered.after) == (
        {"accountEnabled": True},
        {"accountEnabled": False},
    )


def test_throttling_is_waited_out_and_retried_and_ends_in_per_item_results(
    sim, sign_in, regions, tenant, settings
):
    settings.GRAPH_MAX_RETRY_AFTER = 0.1  # the client gives up at once: the job's retries show
    client = sign_in(MANAGER)
    ids = _enabled(regions, tenant, 10)
    run, _ = _start(client, tenant, "block-sign-in", ids)
    sim.faults(throttle={"limit": 8, "window": 2}, tenant=tenant)
    log = Log(sim)

    done = bulk_execute(run_id=run.pk)

    sim.faults(throttle=None, tenant=tenant)
    assert done.status == BulkRun.Status.DONE, done.error
    items = _items(run)
    assert all(i.finished_at for i in items.values())
    statuses = Counter(i["status"] for i in log.items(tenant))
    assert statuses[429] > 0  # the simulator throttled some
    # Reads and writes were sent again after the wait: more batches than the two of one round.
    assert len(log.graph(tenant)) > 2
    outcomes = Counter(i.outcome for i in items.values())
    assert set(outcomes) <= {ActionOutcomeKind.DONE, ActionOutcomeKind.THROTTLED}
    assert outcomes[ActionOutcomeKind.DONE] >= 8
    for item in items.values():
        blocked = not _account_enabled(regions, tenant, item.object_id)
        assert blocked == (item.outcome == ActionOutcomeKind.DONE)
        if item.outcome == ActionOutcomeKind.THROTTLED:
            assert "Microsoft is throttling changes" in item.message
    writes = Counter(w["path"] for w in log.writes(tenant) if w["status"] == 204)
    assert set(writes.values()) <= {1}  # a write that ran was never sent again
    assert len(_audits(run)) == 10


def test_items_still_throttled_after_the_last_retry_are_recorded_throttled_with_the_wait(
    sim, sign_in, regions, tenant, settings
):
    settings.GRAPH_MAX_RETRY_AFTER = 0.1
    client = sign_in(MANAGER)
    ids = _enabled(regions, tenant, 3)
    run, _ = _start(client, tenant, "block-sign-in", ids)
    # One request per 2 seconds gets through: four rounds cannot finish three users.
    sim.faults(throttle={"limit": 1, "window": 2}, tenant=tenant)

    done = bulk_execute(run_id=run.pk)

    sim.faults(throttle=None, tenant=tenant)
    # The Retry-After the run was given holds every client of the tenant (regions.throttle);
    # the throttle is lifted, so is its hold, for the checks below.
    throttle.forget_all()
    assert done.status == BulkRun.Status.DONE, done.error
    outcomes = Counter(i.outcome for i in _items(run).values())
    assert outcomes[ActionOutcomeKind.THROTTLED] >= 1
    assert outcomes[ActionOutcomeKind.DONE] + outcomes[ActionOutcomeKind.THROTTLED] == 3
    assert done.failed == outcomes[ActionOutcomeKind.THROTTLED]
    for item in _items(run).values():
        if item.outcome == ActionOutcomeKind.THROTTLED:
            assert "nothing was changed. Try again in" in item.message
            assert _account_enabled(regions, tenant, item.object_id)


def test_bulk_ids_are_guids_lower_cased_once_each_in_order(settings):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    assert bulk_ids_clean([a.upper(), "", b, f" {a} "]) == [a, b]
    with pytest.raises(BulkRefused, match="is not a user or device id"):
        bulk_ids_clean([a, "'; drop table users; --"])
    with pytest.raises(BulkRefused, match="No rows were selected"):
        bulk_ids_clean(["", "  "])
    settings.BULK_MAX_ITEMS = 2
    with pytest.raises(BulkRefused, match="at most 2"):
        bulk_ids_clean([str(uuid.uuid4()) for _ in range(3)])


@pytest.mark.parametrize("name", ["reset-password", "wipe", "add-to-group", "disable-entra-device"])
def test_actions_that_need_a_per_object_answer_are_not_offered_in_bulk(
    sim, sign_in, regions, tenant, name
):
    target = Target.DEVICE if name in ("wipe", "disable-entra-device") else Target.USER
    assert name not in BULK_ACTIONS[target]
    client = sign_in(MANAGER)
    with pytest.raises(BulkRefused, match="cannot be run in bulk"):
        _start(client, tenant, name, [str(uuid.uuid4())], target=target)
    assert not BulkRun.objects.exists()
