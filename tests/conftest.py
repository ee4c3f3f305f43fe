"""Portal test fixtures: one simulator per session, regions from it, signed-in clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.core.management import call_command
from django.test import Client

from customers.models import Customer, RelationshipStatus
from regions.models import Region
from tests.factories import HOST
from tests.simharness import Simulator

# Database-only fixtures (two regions, a customer in each, their agents): no simulator.
pytest_plugins = ["tests.isolation"]


@pytest.fixture(scope="session")
def sim() -> Iterator[Simulator]:
    # More users than one page (25) so paging shows; devices across every compliance state.
    simulator = Simulator("--users", "60", "--devices", "40")
    yield simulator
    simulator.stop()


@pytest.fixture
def world(sim: Simulator) -> Iterator[dict[str, Any]]:
    """The simulator's seeded world; faults and state are restored after the test, and the
    Graph budgets and Retry-After holds the test left in Redis are forgotten with them, and
    the app tokens this process holds."""
    yield sim.info()
    sim.reset()
    from regions import throttle, token_caches

    throttle.forget_all()
    token_caches.process_forget()


@pytest.fixture
def regions(world: dict[str, Any], sim: Simulator, db: None) -> dict[str, Region]:
    call_command("configure_demo_regions", sim=sim.base_url, ca=sim.ca, stdout=None)
    return {r.slug: r for r in Region.objects.all()}


@pytest.fixture
def customers(regions: dict[str, Region], world: dict[str, Any]) -> dict[str, list[Customer]]:
    """The simulator's customers in the database, as a sync would leave them."""
    result: dict[str, list[Customer]] = {}
    for region in world["regions"]:
        result[region["slug"]] = [
            Customer.objects.create(
                region=regions[region["slug"]],
                tenant_id=c["tenant_id"],
                name=c["name"],
                default_domain=c["domain"],
                relationship_status=RelationshipStatus.ACTIVE
                if c["relationship"]["status"] == "active"
                else RelationshipStatus.EXPIRED,
            )
            for c in region["customers"]
        ]
    return result


def password_of(world: dict[str, Any], username: str) -> str:
    return next(a["password"] for a in world["agents"] if a["username"] == username)


def idp_sign_in(auth_uri: str, username: str, password: str) -> str:
    """Play the agent on the simulator's sign-in page; return the redirect back to the portal."""
    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(auth_uri, allow_redirects=False, timeout=10)
    if page.status_code == 302:
        return page.headers["Location"]
    assert page.status_code == 200, page.text[:500]
    answer = browser.post(
        auth_uri,
        data={"login": username, "passwd": password},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["Location"]


def callback_path(location: str) -> str:
    parts = urlsplit(location)
    assert parts.path == "/auth/callback/", location
    return f"{parts.path}?{parts.query}"


def query(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query))


@pytest.fixture
def portal_client() -> Client:
    return Client(HTTP_HOST=HOST)


@pytest.fixture
def sign_in(regions: dict[str, Region], world: dict[str, Any]) -> Callable[..., Client]:
    """Sign a username in through the whole flow (portal → simulator → callback)."""

    def _sign_in(username: str, client: Client | None = None) -> Client:
        client = client or Client(HTTP_HOST=HOST)
        start = client.post("/signin/", {"username": username})
        assert start.status_code == 302, start.content[:500]
        location = idp_sign_in(start["Location"], username, password_of(world, username))
        done = client.get(callback_path(location))
        assert done.status_code == 302, done.content[:1000]
        return client

    return _sign_in


@pytest.fixture(scope="session")
def celery_queue() -> str:
    """A queue of our own, so parallel runs sharing Redis never take each other's tasks."""
    import os

    from django.conf import settings

    name = f"portal-test-{os.getpid()}"
    settings.CELERY_TASK_DEFAULT_QUEUE = name
    from portal.celery import app

    app.conf.task_default_queue = name
    return name


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Before a test using the shared worker tears its database down, the worker finishes
    what the test left it (a second delivery, a queued chunk): a flush's TRUNCATE and a task's
    query deadlock otherwise."""
    if "celery_worker_process" in getattr(item, "fixturenames", ()):
        from tests.celeryproc import worker_idle_wait

        worker_idle_wait("portal-tests")
    yield


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, django_db_blocker: Any, celery_queue: str, sim: Simulator
) -> Iterator[Any]:
    """A real `celery worker` process (prefork, 2 processes) on Redis and the test database."""
    from tests.celeryproc import start_worker

    worker = start_worker(celery_queue, "portal-tests", pool="prefork", concurrency=2)
    yield worker.process
    worker.stop()
