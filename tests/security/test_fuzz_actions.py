"""Fuzzed action and bulk URLs and forms: never a 500, never a request to Microsoft for a
tenant outside the manager's region, never an action recorded there, and in their own
region never a write that the form did not confirm."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.actions import ACTIONS
from customers.models import ActionRecord, BulkRun

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
names = st.one_of(st.sampled_from([a.name for a in ACTIONS]), text)
object_ids = st.one_of(st.uuids().map(str), text)
keys = st.one_of(st.uuids(version=4).map(str), text)
KINDS = ["users", "managed-devices"]
STATUSES = (200, 302, 400, 403, 404, 405, 409, 429, 502, 503, 504)


def _foreign_requests(sim, foreign: set[str]) -> list[dict]:
    return [r for r in sim.requests()["requests"] if (r.get("tenant") or "") in foreign]


@pytest.fixture
def manager_client(sign_in, customers):
    # Hypothesis runs the body many times with the same fixtures: one sign-in per test.
    return sign_in("manager@contosopartners.com")


@FUZZ
@given(
    kind=st.sampled_from(KINDS),
    object_id=object_ids,
    name=names,
    key=keys,
    confirm=st.sampled_from(["", "yes", "no"]),
    group_id=text,
    confirm_name=text,
    target=st.sampled_from(["own", "foreign"]),
)
def test_fuzzed_action_posts_never_500_and_never_reach_a_foreign_tenant(
    sim,
    manager_client,
    customers,
    kind,
    object_id,
    name,
    key,
    confirm,
    group_id,
    confirm_name,
    target,
):
    own = next(c for c in customers["us"] if c.relationship_status == "active")
    tenant = own if target == "own" else customers["eu"][0]
    url = (
        f"/customers/{tenant.tenant_id}/{kind}/{quote(object_id, safe='')}/actions/"
        f"{quote(name, safe='')}/"
    )
    response = manager_client.post(
        url,
        {"key": key, "confirm": confirm, "group_id": group_id, "confirm_name": confirm_name},
    )

    assert response.status_code in STATUSES, response.status_code
    if target == "foreign":
        assert response.status_code == 404
    eu = {str(c.tenant_id) for c in customers["eu"]}
    assert not _foreign_requests(sim, eu)
    assert not ActionRecord.objects.filter(customer__region__slug="eu").exists()


@FUZZ
@given(
    kind=st.sampled_from(KINDS),
    action=names,
    ids=st.lists(object_ids, max_size=5),
    all_matching=st.sampled_from(["", "yes"]),
    q=text,
    confirm=st.sampled_from(["", "yes"]),
    target=st.sampled_from(["own", "foreign"]),
)
def test_fuzzed_bulk_posts_never_500_and_never_start_a_job_in_a_foreign_tenant(
    sim, manager_client, customers, kind, action, ids, all_matching, q, confirm, target
):
    own = next(c for c in customers["us"] if c.relationship_status == "active")
    tenant = own if target == "own" else customers["eu"][0]
    response = manager_client.post(
        f"/customers/{tenant.tenant_id}/{kind}/bulk/",
        {
            "key": str(uuid.uuid4()),
            "action": action,
            "ids": ids,
            "all_matching": all_matching,
            "q": q,
            "confirm": confirm,
        },
    )

    assert response.status_code in STATUSES, response.status_code
    if target == "foreign":
        assert response.status_code == 404
    assert not _foreign_requests(sim, {str(c.tenant_id) for c in customers["eu"]})
    assert not BulkRun.objects.filter(customer__region__slug="eu").exists()
