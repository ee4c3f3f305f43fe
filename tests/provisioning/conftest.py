"""Provisioning fixtures: the create form's data, and a Celery worker + beat of our own.

The worker runs with the solo pool: one process handles every attempt, so a retry that reused
the token of the failed attempt would really reuse it (with a prefork pool the retry might land
in a process that never had it, and such a bug could pass by luck). Beat drives the
database-scheduled runs, as in production; both reach the test database and a queue of their
own, and the delays travel on each run's row (set from `settings` in the test process).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from customers.models import Customer
from provisioning.models import Provisioning
from tests.celeryproc import CeleryProcess, db_env, start_worker

AGENT = "agent@contosopartners.com"


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "key": str(uuid.uuid4()),
        "company_name": "Lakeside Dental LLC",
        "domain_prefix": f"lakeside{uuid.uuid4().hex[:10]}",
        "first_name": "Dana",
        "last_name": "Brook",
        "email": "dana@lakeside.example",
        "phone_number": "+1 425 555 0100",
        "address_line1": "1 Main Street",
        "city": "Redmond",
        "state": "WA",
        "postal_code": "98052",
        "country": "US",
    }
    data.update(overrides)
    return data


@pytest.fixture
def agent(sign_in: Callable[..., Client]) -> Client:
    return sign_in(AGENT)


@pytest.fixture
def fast(settings: Any) -> Any:
    """Delays in seconds, not minutes; stored on each run, so the worker follows them."""
    settings.PROVISIONING_WAIT_SECONDS = 1
    settings.PROVISIONING_RETRY_SECONDS = 2
    settings.PROVISIONING_MAX_ATTEMPTS = 3
    return settings


def create_customer(client: Client, **overrides: Any) -> Customer:
    response = client.post("/customers/new/", form_data(**overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant_id = response["Location"].split("/")[2]
    return Customer.objects.get(tenant_id=tenant_id)


def consent_given(sim: Any, customer: Customer) -> None:
    """The app's consent in the new tenant, as an admin's "Consent the app" leaves it: the
    simulator's state, and the portal told (what customers.consent does when it succeeds)."""
    from customers.signals import app_consented

    sim.consent(str(customer.tenant_id), consented=True)
    app_consented.send(Customer, customer=customer)


def wait_for(
    customer: Customer, statuses: set[str], timeout: float = 40, poll: float = 0.2
) -> Provisioning:
    deadline = time.monotonic() + timeout
    run = None
    while time.monotonic() < deadline:
        run = customer.provisionings.first()
        if run is not None and run.status in statuses:
            return run
        time.sleep(poll)
    raise AssertionError(f"provisioning never reached {statuses}: {run and run.__dict__}")


@pytest.fixture(scope="session")
def provisioning_queue() -> str:
    return f"provisioning-test-{os.getpid()}"


@pytest.fixture(scope="session")
def provisioning_celery(
    django_db_setup: None, django_db_blocker: Any, provisioning_queue: str, tmp_path_factory: Any
) -> Iterator[CeleryProcess]:
    """A solo-pool worker and beat ticking every second, on a queue of our own."""
    worker = start_worker(provisioning_queue, "provisioning", PROVISIONING_LEASE_SECONDS="30")
    beat = CeleryProcess(
        [
            "beat",
            "--loglevel",
            "INFO",
            "-s",
            str(tmp_path_factory.mktemp("beat") / "schedule"),
        ],
        {
            **db_env(),
            "CELERY_QUEUE": provisioning_queue,
            "PROVISIONING_TICK_SECONDS": "1",
            # Only the provisioning tick matters here; the others would never be due anyway.
            "CUSTOMER_SYNC_INTERVAL": "86400",
            "COMPLIANCE_SWEEP_INTERVAL": "86400",
        },
        "celery-provisioning-beat.log",
    )
    yield worker
    beat.stop()
    worker.stop()
