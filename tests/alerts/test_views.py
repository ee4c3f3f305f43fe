"""The alerts page: own region only (a global admin: every region), filters, paging, and an
acknowledgement that records who and when and is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from alerts.models import Alert, AlertKind, AlertState
from audit.models import AuditEvent
from tests.factories import client_for, customer_make, user_make

pytestmark = pytest.mark.django_db


def alert_make(region, customer=None, *, kind=AlertKind.CONSENT_LOST, **fields) -> Alert:
    now = timezone.now()
    values = {
        "region": region,
        "customer": customer,
        "kind": kind,
        "key": f"customer-{customer.pk if customer else 'none'}-{Alert.objects.count()}",
        "title": f"{customer.name if customer else region.name}: something needs you.",
        "opened_at": now,
        "last_seen_at": now,
        **fields,
    }
    return Alert.objects.create(**values)


def test_an_agent_sees_their_regions_alerts_with_a_link_to_the_customer_and_never_anothers(
    own_region, own_customer, other_region, other_customer, own_agent
):
    mine = alert_make(own_region, own_customer)
    theirs = alert_make(other_region, other_customer)
    body = client_for(own_agent).get("/alerts/").content.decode()
    assert f'data-alert="{mine.pk}"' in body
    assert f"/customers/{own_customer.tenant_id}/" in body
    assert f'data-alert="{theirs.pk}"' not in body and other_customer.name not in body


def test_resolved_alerts_are_not_listed_and_the_newest_comes_first(
    own_region, own_customer, own_agent
):
    old = alert_make(own_region, own_customer, opened_at=timezone.now() - timedelta(days=2))
    new = alert_make(own_region, own_customer, kind=AlertKind.SWEEP_FAILING)
    gone = alert_make(own_region, own_customer, kind=AlertKind.GDAP_ENDING, state="resolved")
    body = client_for(own_agent).get("/alerts/").content.decode()
    assert body.index(f'data-alert="{new.pk}"') < body.index(f'data-alert="{old.pk}"')
    assert f'data-alert="{gone.pk}"' not in body


def test_the_list_filters_by_state_and_kind(own_region, own_customer, own_agent):
    consent = alert_make(own_region, own_customer)
    sweep = alert_make(own_region, own_customer, kind=AlertKind.SWEEP_FAILING, state="acknowledged")
    client = client_for(own_agent)
    by_kind = client.get("/alerts/", {"kind": "sweep_failing"}).content.decode()
    assert f'data-alert="{sweep.pk}"' in by_kind and f'data-alert="{consent.pk}"' not in by_kind
    by_state = client.get("/alerts/", {"state": "open"}).content.decode()
    assert f'data-alert="{consent.pk}"' in by_state and f'data-alert="{sweep.pk}"' not in by_state


def test_the_list_is_paginated_with_its_position(own_region, own_customer, own_agent):
    for _ in range(30):
        alert_make(own_region, own_customer)
    client = client_for(own_agent)
    first = client.get("/alerts/").content.decode()
    assert first.count('data-testid="alert-row"') == 25 and "1\u201325 of 30" in first
    second = client.get("/alerts/", {"page": 2}).content.decode()
    assert second.count('data-testid="alert-row"') == 5 and "26\u201330 of 30" in second


def test_a_global_admin_sees_both_regions_and_can_narrow_to_one(
    own_region, own_customer, other_region, other_customer
):
    admin = user_make(region=own_region, role=Role.GLOBAL_ADMIN)
    us = alert_make(own_region, own_customer)
    eu = alert_make(other_region, other_customer)
    client = client_for(admin)
    both = client.get("/alerts/").content.decode()
    assert f'data-alert="{us.pk}"' in both and f'data-alert="{eu.pk}"' in both
    only_eu = client.get("/alerts/", {"region": "eu"}).content.decode()
    assert f'data-alert="{eu.pk}"' in only_eu and f'data-alert="{us.pk}"' not in only_eu


def test_a_region_filter_from_an_agent_does_not_reach_another_region(
    own_region, other_region, other_customer, own_agent
):
    eu = alert_make(other_region, other_customer)
    body = client_for(own_agent).get("/alerts/", {"region": "eu"}).content.decode()
    assert f'data-alert="{eu.pk}"' not in body


def test_acknowledging_records_who_and_when_and_is_audited(own_region, own_customer, own_agent):
    alert = alert_make(own_region, own_customer)
    response = client_for(own_agent).post(f"/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 302 and response["Location"] == "/alerts/"
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_by == own_agent
    assert timezone.now() - alert.acknowledged_at < timedelta(minutes=1)
    event = AuditEvent.objects.get(action="alert.acknowledge")
    assert event.detail["alert"] == alert.pk
    assert event.detail["before"]["state"] == "open"
    assert event.detail["after"]["state"] == "acknowledged"
    assert event.detail["after"]["acknowledged_by_id"] == own_agent.pk
    body = client_for(own_agent).get("/alerts/").content.decode()
    assert "Acknowledged by" in body


def test_acknowledging_twice_keeps_the_first_acknowledgement_and_audits_once(
    own_region, own_customer, own_agent
):
    alert = alert_make(own_region, own_customer)
    other = user_make(region=own_region, role=Role.MANAGER)
    client_for(own_agent).post(f"/alerts/{alert.pk}/acknowledge/")
    client_for(other).post(f"/alerts/{alert.pk}/acknowledge/")
    alert.refresh_from_db()
    assert alert.acknowledged_by == own_agent
    assert AuditEvent.objects.filter(action="alert.acknowledge").count() == 1


def test_another_regions_alert_is_404_to_acknowledge_and_stays_open(
    other_region, other_customer, own_agent
):
    alert = alert_make(other_region, other_customer)
    assert client_for(own_agent).post(f"/alerts/{alert.pk}/acknowledge/").status_code == 404
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN and alert.acknowledged_by is None


def test_acknowledging_needs_the_csrf_token(own_region, own_customer, own_agent):
    alert = alert_make(own_region, own_customer)
    client = client_for(own_agent)
    client.handler.enforce_csrf_checks = True
    assert client.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 403
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_acknowledging_is_a_post(own_region, own_customer, own_agent):
    alert = alert_make(own_region, own_customer)
    assert client_for(own_agent).get(f"/alerts/{alert.pk}/acknowledge/").status_code == 405


def test_a_user_without_a_portal_role_may_not_see_alerts(norole_user):
    assert client_for(norole_user).get("/alerts/").status_code == 403


def test_the_nav_shows_the_open_count_of_the_users_region_in_one_query(
    own_region, other_region, other_customer, own_agent
):
    customer = customer_make(region=own_region)
    alert_make(own_region, customer)
    alert_make(own_region, customer)
    alert_make(own_region, customer, state="acknowledged")
    alert_make(other_region, other_customer)
    client = client_for(own_agent)
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/customers/").content.decode()
    assert 'data-testid="nav-alert-count">2<' in body
    counts = [q["sql"] for q in queries if "alerts_alert" in q["sql"]]
    assert len(counts) == 1 and "COUNT" in counts[0].upper()
