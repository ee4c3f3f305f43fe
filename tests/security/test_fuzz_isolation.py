"""Fuzzed customer URLs and query parameters: never a 500, never a request to Microsoft for a
tenant outside the agent's region."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

PAGES = ["", "users/", "groups/", "devices/", "managed-devices/", "compliance/"]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


def _foreign_requests(sim, foreign: set[str]) -> list[dict]:
    return [r for r in sim.requests()["requests"] if (r.get("tenant") or "") in foreign]


@FUZZ
@given(segment=text, page=st.sampled_from(PAGES))
def test_any_tenant_segment_is_404_or_a_page_never_a_500(agent_client, segment, page):
    response = agent_client.get(f"/customers/{quote(segment, safe='')}/{page}")
    assert response.status_code in (200, 301, 302, 400, 403, 404, 405, 429, 502, 503, 504)


@FUZZ
@given(
    q=text,
    page_token=text,
    compliance=text,
    os=text,
    target=st.sampled_from(["own", "foreign"]),
    page=st.sampled_from(PAGES),
)
def test_fuzzed_parameters_never_reach_a_foreign_tenant(
    sim, agent_client, customers, q, page_token, compliance, os, target, page
):
    own = next(c for c in customers["us"] if c.relationship_status == "active")
    foreign = customers["eu"][0]
    tenant = own if target == "own" else foreign
    response = agent_client.get(
        f"/customers/{tenant.tenant_id}/{page}",
        {"q": q, "page": page_token, "compliance": compliance, "os": os},
    )
    assert response.status_code != 500
    if target == "foreign":
        assert response.status_code == 404
    assert not _foreign_requests(sim, {str(c.tenant_id) for c in customers["eu"]})


@pytest.fixture
def agent_client(sign_in, customers):
    # Hypothesis runs the body many times with the same fixtures: one sign-in per test.
    return sign_in("agent@contosopartners.com")
