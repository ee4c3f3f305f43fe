"""Creating a customer: the form, Partner Center, idempotency and the one-time credentials."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from audit.models import AuditEvent
from customers.models import Customer, RelationshipStatus
from provisioning.models import CustomerCreation, HeldCredentials, Provisioning
from tests.factories import HOST
from tests.provisioning.conftest import AGENT, create_customer, form_data

pytestmark = pytest.mark.django_db


def _sim_customers(sim: Any, slug: str = "us") -> list[dict[str, Any]]:
    region = next(r for r in sim.info()["regions"] if r["slug"] == slug)
    return region["customers"]


def test_the_form_is_offered_to_agents(agent: Client) -> None:
    page = agent.get("/customers/new/")
    assert page.status_code == 200
    assert b'name="key"' in page.content
    assert b".onmicrosoft.com" in page.content


def test_a_user_without_a_role_may_not_create_customers(sign_in: Any) -> None:
    client = sign_in("norole@contosopartners.com")
    assert client.get("/customers/new/").status_code == 403
    assert client.post("/customers/new/", form_data()).status_code == 403


def test_the_customers_list_offers_a_new_customer_button(agent: Client) -> None:
    assert b'href="/customers/new/"' in agent.get("/customers/").content


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("domain_prefix", "lake-side", "letters or digits only"),
        ("domain_prefix", "a", "2 to 27"),
        ("domain_prefix", "x" * 28, "2 to 27"),
        ("domain_prefix", "lake side", "letters or digits only"),
        ("country", "XX", "not an ISO 3166 country code"),
        ("country", "USA", "at most 2 characters"),
        ("email", "dana@", "valid email"),
        ("company_name", "", "required"),
        ("phone_number", "call me", "digits"),
    ],
)
def test_invalid_fields_are_named_with_a_clear_error(
    agent: Client, sim: Any, field: str, value: str, message: str
) -> None:
    before = sim.requests()["counters"].get("partnercenter", 0)
    page = agent.post("/customers/new/", form_data(**{field: value}))
    assert page.status_code == 400
    errors = page.context["form"].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert f'data-testid="error-{field}"'.encode() in page.content
    # Nothing reached Partner Center.
    assert sim.requests()["counters"].get("partnercenter", 0) == before


def test_a_pasted_full_domain_and_capitals_are_accepted(agent: Client) -> None:
    customer = create_customer(agent, domain_prefix="LakeSideTwo.onmicrosoft.com")
    assert customer.default_domain == "lakesidetwo.onmicrosoft.com"


def test_creating_a_customer_makes_the_tenant_and_starts_the_wait(
    agent: Client, sim: Any, settings: Any
) -> None:
    settings.PROVISIONING_WAIT_SECONDS = 180
    customer = create_customer(agent, domain_prefix="northlake", company_name="North Lake Inc.")
    assert customer.name == "North Lake Inc."
    assert customer.default_domain == "northlake.onmicrosoft.com"
    assert customer.relationship_status == RelationshipStatus.PENDING
    assert customer.region.slug == "us"
    assert any(c["tenant_id"] == str(customer.tenant_id) for c in _sim_customers(sim))
    run = customer.provisionings.get()
    assert (run.kind, run.status, run.attempt) == ("created", "waiting", 0)
    assert (run.wait_seconds, run.retry_seconds, run.max_attempts) == (180, 60, 5)
    assert 170 < (run.next_attempt_at - run.created_at).total_seconds() <= 180
    event = AuditEvent.objects.get(action="customer.create")
    assert event.tenant_id == customer.tenant_id


def _reveal(client: Client, location: str) -> Any:
    return client.post(f"{location}reveal/")


def test_the_initial_password_is_shown_once_and_never_stored(
    agent: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = agent.post("/customers/new/", form_data(domain_prefix="oncelake"))
    page = _reveal(agent, response["Location"])
    assert page.status_code == 200
    credentials = page.context["credentials"]
    assert credentials.user_name == "admin@oncelake.onmicrosoft.com"
    password = credentials.password
    assert password and password.encode() in page.content
    assert b'data-testid="initial-credentials"' in page.content
    assert "no-store" in page.get("Cache-Control", "")
    again = _reveal(agent, response["Location"])
    assert password.encode() not in again.content
    assert b'data-testid="initial-credentials"' not in again.content
    assert b'data-testid="credentials-gone"' in again.content
    assert password.encode() not in agent.get(response["Location"]).content
    # Nowhere at rest in clear: database rows, the session, the audit log, the logs.
    from django.contrib.sessions.models import Session

    stored = [
        *(str(r.__dict__) for r in CustomerCreation.objects.all()),
        *(str(r.__dict__) for r in Provisioning.objects.all()),
        *(str(r.__dict__) for r in Customer.objects.all()),
        *(str(r.__dict__) for r in AuditEvent.objects.all()),
        *(s.session_data for s in Session.objects.all()),
        caplog.text,
    ]
    assert not any(password in text for text in stored)


def test_opening_the_provisioning_page_never_consumes_the_initial_password(
    agent: Client,
) -> None:
    response = agent.post("/customers/new/", form_data(domain_prefix="getlake"))
    for _ in range(2):  # a prefetch, a link preview, a reload: GETs
        page = agent.get(response["Location"])
        assert page.context["credentials"] is None
        assert b'data-testid="reveal-credentials"' in page.content
        assert b"Reveal the initial admin password (shown once)" in page.content
    assert HeldCredentials.objects.count() == 1
    assert _reveal(agent, response["Location"]).context["credentials"].password


def test_revealing_the_password_needs_the_forms_csrf_token(agent: Client) -> None:
    response = agent.post("/customers/new/", form_data(domain_prefix="csrflake"))
    forged = Client(HTTP_HOST=HOST, enforce_csrf_checks=True)
    forged.cookies = agent.cookies
    assert forged.post(f"{response['Location']}reveal/").status_code == 403
    assert forged.get(f"{response['Location']}reveal/").status_code == 405
    assert HeldCredentials.objects.count() == 1


def test_the_reveal_is_audited_without_the_password(agent: Client) -> None:
    response = agent.post("/customers/new/", form_data(domain_prefix="auditlake"))
    password = _reveal(agent, response["Location"]).context["credentials"].password
    event = AuditEvent.objects.get(action="customer.credentials_revealed")
    assert event.detail == {"user_name": "admin@auditlake.onmicrosoft.com"}
    assert password not in str(event.__dict__)
    _reveal(agent, response["Location"])  # nothing left to reveal: no second event
    assert AuditEvent.objects.filter(action="customer.credentials_revealed").count() == 1


def test_the_held_password_is_encrypted_until_it_is_shown(agent: Client) -> None:
    response = agent.post("/customers/new/", form_data(domain_prefix="sealedlake"))
    (held,) = HeldCredentials.objects.all()
    assert "sealedlake" not in held.sealed and held.sealed.startswith("gAAAA")  # Fernet
    _reveal(agent, response["Location"])
    assert not HeldCredentials.objects.exists()


def test_the_password_survives_a_session_written_by_another_request(agent: Client) -> None:
    # Another tab's request loaded the session before the create and saves it after it: the
    # session backend writes whole sessions, so the last write wins.
    stale = agent.session
    response = agent.post("/customers/new/", form_data(domain_prefix="racelake"))
    stale["other_tab"] = "saved later"
    stale.save()
    page = _reveal(agent, response["Location"])
    assert b'data-testid="initial-password"' in page.content


def test_a_taken_domain_is_a_field_error_and_creates_nothing(agent: Client, sim: Any) -> None:
    taken = _sim_customers(sim)[0]["domain"].removesuffix(".onmicrosoft.com")
    count = len(_sim_customers(sim))
    data = form_data(domain_prefix=taken)
    page = agent.post("/customers/new/", data)
    assert page.status_code == 400
    assert "already taken" in " ".join(page.context["form"].errors["domain_prefix"])
    assert b'data-testid="error-domain_prefix"' in page.content
    assert len(_sim_customers(sim)) == count
    assert not Provisioning.objects.exists()
    # Nothing was created, so the corrected form is a new request (a new id).
    assert page.context["form"]["key"].value() != data["key"]


def test_submitting_the_same_form_twice_creates_one_tenant(agent: Client, sim: Any) -> None:
    count = len(_sim_customers(sim))
    data = form_data(domain_prefix="twicelake")
    first = agent.post("/customers/new/", data)
    second = agent.post("/customers/new/", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert len(_sim_customers(sim)) == count + 1
    assert Customer.objects.filter(default_domain="twicelake.onmicrosoft.com").count() == 1
    assert CustomerCreation.objects.count() == 1
    assert Provisioning.objects.count() == 1
    # The credentials are still held, revealed once from the page the browser lands on.
    assert agent.get(second["Location"]).context["credentials_held"]
    assert _reveal(agent, second["Location"]).context["credentials"] is not None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submissions_of_the_same_form_create_one_tenant(
    sign_in: Any, sim: Any
) -> None:
    count = len(_sim_customers(sim))
    sim.faults(latency_ms=300)  # both requests are in flight at Partner Center together
    data = form_data(domain_prefix="racelake")
    clients = [sign_in(AGENT), sign_in(AGENT)]
    # Same user, same form: the second browser tab resubmits what the first sent.
    statuses: list[int] = []

    def submit(client: Client) -> None:
        try:
            statuses.append(client.post("/customers/new/", data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302, 302]
    assert len(_sim_customers(sim)) == count + 1
    assert Customer.objects.filter(default_domain="racelake.onmicrosoft.com").count() == 1
    assert Provisioning.objects.count() == 1
    assert AuditEvent.objects.filter(action="customer.create").count() == 1


def test_a_form_key_of_another_account_is_refused(agent: Client, sign_in: Any, sim: Any) -> None:
    data = form_data(domain_prefix="stolenlake")
    agent.post("/customers/new/", data)
    other = sign_in("admin@contosopartners.com")
    page = other.post("/customers/new/", data)
    assert page.status_code == 400
    assert "another account" in page.content.decode()


# --------------------------------------------------------------------------- quotas

LIMITED = re.compile(
    r"You have created (\d+) customers in the last hour; the limit is (\d+)\. "
    r"Try again at \d\d:\d\d\."
)


def _pc(sim: Any) -> int:
    return sim.requests()["counters"].get("partnercenter", 0)


def test_creating_more_customers_in_an_hour_than_allowed_is_a_429_and_sends_nothing(
    agent: Client, sim: Any, settings: Any
) -> None:
    settings.PROVISIONING_CREATE_PER_USER_PER_HOUR = 2
    create_customer(agent)
    create_customer(agent)
    before, rows = _pc(sim), CustomerCreation.objects.count()
    page = agent.post("/customers/new/", form_data())
    assert page.status_code == 429
    found = LIMITED.search(page.content.decode())
    assert found and found.groups() == ("2", "2"), page.content.decode()[:3000]
    assert _pc(sim) == before
    assert CustomerCreation.objects.count() == rows


def test_a_replay_or_a_refused_submission_does_not_count_but_a_new_one_does(
    agent: Client, sim: Any, settings: Any
) -> None:
    settings.PROVISIONING_CREATE_PER_USER_PER_HOUR = 1
    taken = _sim_customers(sim)[0]["domain"].removesuffix(".onmicrosoft.com")
    assert agent.post("/customers/new/", form_data(domain_prefix=taken)).status_code == 400
    data = form_data()
    first = agent.post("/customers/new/", data)
    again = agent.post("/customers/new/", data)  # the same submission resent
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert agent.post("/customers/new/", form_data()).status_code == 429


def test_the_regions_daily_cap_counts_every_agent_of_the_region(
    agent: Client, sign_in: Any, sim: Any, settings: Any
) -> None:
    settings.PROVISIONING_CREATE_PER_REGION_PER_DAY = 1
    create_customer(agent)
    manager = sign_in("manager@contosopartners.com")
    before = _pc(sim)
    page = manager.post("/customers/new/", form_data())
    assert page.status_code == 429
    assert re.search(
        r"Your region has created 1 customers in the last 24 hours; the limit is 1\. "
        r"Try again at \d\d:\d\d\.",
        page.content.decode(),
    )
    assert _pc(sim) == before
    europe = sign_in("agent@contosopartners.eu")  # another region has its own cap
    create_customer(europe)


@pytest.mark.django_db(transaction=True)
def test_parallel_submissions_cannot_pass_the_quota_together(
    sign_in: Any, sim: Any, settings: Any
) -> None:
    settings.PROVISIONING_CREATE_PER_USER_PER_HOUR = 1
    sim.faults(latency_ms=200)
    signed_in = sign_in(AGENT)
    clients = [Client(HTTP_HOST=HOST) for _ in range(3)]  # three tabs of one browser
    for client in clients:
        client.cookies = signed_in.cookies
    statuses: list[int] = []
    start = threading.Barrier(3)

    def submit(client: Client) -> None:
        try:
            start.wait()
            statuses.append(client.post("/customers/new/", form_data()).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 429, 429]
    assert CustomerCreation.objects.count() == 1
    assert Customer.objects.filter(default_domain__startswith="lakeside").count() == 1
