"""The customer sync of a partner with many customers: pages as large as Microsoft allows, the
per-customer calls fanned out, every customer stored once and right."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command

from customers.models import ConsentState, Customer, GdapRelationship, SyncRun
from customers.services import customers_sync, sync_run_start
from regions.models import Region
from tests.factories import consent_checks_aged
from tests.simharness import Simulator

CUSTOMERS = 700  # per region: three pages of 300 relationships

# Reference: https://learn.microsoft.com/graph/api/tenantrelationship-list-delegatedadminrelationships
# ("$top supports up to 300 objects"); the same for delegatedAdminCustomers.
# Reference: https://learn.microsoft.com/graph/api/tenantrelationship-list-delegatedadmincustomers
GDAP_PAGE = 300
# Reference: https://learn.microsoft.com/graph/json-batching (20 requests per $batch)
BATCH = 20


@pytest.fixture(scope="module")
def many_sim() -> Iterator[Simulator]:
    simulator = Simulator("--customers", str(CUSTOMERS), "--users", "1", "--devices", "0")
    yield simulator
    simulator.stop()


@pytest.fixture
def many(many_sim: Simulator, db: None) -> Iterator[dict[str, Any]]:
    call_command("configure_demo_regions", sim=many_sim.base_url, ca=many_sim.ca, stdout=None)
    info = many_sim.info()
    yield {"sim": many_sim, "info": info, "us": Region.objects.get(slug="us")}
    many_sim.reset()


def _us(info: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in info["regions"] if r["slug"] == "us")


def _sync(region: Region) -> SyncRun:
    run, _ = sync_run_start(region=region)
    done = customers_sync(run_id=run.pk)
    assert done is not None and done.status == SyncRun.Status.DONE, done and done.error
    return done


def _requests_of(sim: Simulator, before: dict[str, int]) -> list[dict[str, Any]]:
    """The log entries of the requests sent since `before` (the counters then)."""
    after = sim.requests()
    sent = sum(n - before.get(k, 0) for k, n in after["counters"].items() if k != "control")
    assert sent <= len(after["requests"]), "the simulator's log no longer holds them all"
    ours = [r for r in after["requests"] if r["kind"] != "control"]
    return ours[len(ours) - sent :]


@pytest.mark.django_db
def test_a_sync_of_700_customers_reads_300_relationships_a_page_and_stores_each_once(many):
    sim, us = many["sim"], _us(many["info"])
    before = sim.requests()["counters"]
    run = _sync(many["us"])
    sent = _requests_of(sim, before)

    stored = {str(c.tenant_id): c for c in Customer.objects.filter(region=many["us"])}
    assert set(stored) == {c["tenant_id"] for c in us["customers"]}
    assert run.total == len(stored) and run.created == len(stored)
    for info in us["customers"]:
        assert stored[info["tenant_id"]].default_domain == info["domain"]
        assert stored[info["tenant_id"]].name == info["name"]
    relationships = GdapRelationship.objects.filter(customer__region=many["us"])
    assert relationships.count() >= CUSTOMERS
    assert relationships.values("relationship_id").distinct().count() == relationships.count()

    partner = us["partner_tenant_id"]
    pages = [r for r in sent if r["path"].endswith("/delegatedAdminRelationships")]
    assert len(pages) == math.ceil(relationships.count() / GDAP_PAGE)
    gdap_customers = [r for r in sent if r["path"].endswith("/delegatedAdminCustomers")]
    listed = sum(1 for c in us["customers"] if c["relationship"]["status"] == "active")
    assert len(gdap_customers) <= math.ceil(listed / GDAP_PAGE)
    assert len([r for r in sent if r["path"].endswith("/contracts")]) == 1  # 999 a page
    batches = [r for r in sent if r["path"].endswith("/$batch")]
    assignable = relationships.filter(status="active").count()
    # The access assignments: 20 relationships a $batch, in the partner tenant.
    assert len([b for b in batches if b["tenant"] == partner]) == math.ceil(assignable / BATCH)
    # One consent check ($batch) in each active customer's own tenant, and no more.
    checks = [b["tenant"] for b in batches if b["tenant"] != partner]
    active = Customer.objects.filter(region=many["us"], relationship_status="active")
    gdap_active = active.exclude(relationship_type="dap").count()
    assert len(checks) == len(set(checks)) >= gdap_active
    assert all(r["status"] < 400 for r in sent)


@pytest.mark.django_db
def test_consent_checks_run_at_once_and_a_failing_customer_keeps_what_was_known(many):
    sim, us = many["sim"], _us(many["info"])
    _sync(many["us"])  # tokens cached, consent known
    consent_checks_aged(many["us"])  # and due again
    consented = list(
        Customer.objects.filter(region=many["us"], consent_state=ConsentState.CONSENTED)
    )
    assert len(consented) > 100
    broken = consented[0]
    sim.faults(error_rate=1.0, tenant=str(broken.tenant_id))
    sim.faults(latency_ms=100)
    checks = Customer.objects.filter(region=many["us"], relationship_status="active").count()

    started = time.perf_counter()
    run = _sync(many["us"])
    elapsed = time.perf_counter() - started

    # One after the other, the checks alone would take checks x 100 ms.
    assert elapsed < checks * 0.1 / 4, elapsed
    broken.refresh_from_db()
    assert broken.consent_state == ConsentState.CONSENTED  # not checked: kept, not "lost"
    assert broken.consent_lost_at is None
    others = Customer.objects.filter(pk__in=[c.pk for c in consented[1:]])
    assert all(c.consent_state == ConsentState.CONSENTED for c in others)
    assert all(c.consent_checked_at > broken.consent_checked_at for c in others)
    assert run.total == len(us["customers"])
