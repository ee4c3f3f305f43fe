"""The users page of admins and "End sessions": own region only, audited, confirmed."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import Role, User, UserSession
from accounts.tasks import sessions_clear
from audit.models import AuditEvent
from tests.factories import client_for, user_make

pytestmark = pytest.mark.django_db

AGENT = "agent@contosopartners.com"
ADMIN = "admin@contosopartners.com"
EU_AGENT = "agent@contosopartners.eu"


def test_an_admin_sees_the_users_of_their_own_region_with_their_active_sessions(sign_in):
    sign_in(AGENT)
    sign_in(AGENT)
    sign_in(EU_AGENT)
    admin = sign_in(ADMIN)
    page = admin.get("/users/").content.decode()
    assert AGENT in page and EU_AGENT not in page
    agent = User.objects.get(upn=AGENT)
    rows = admin.get("/users/").context["users"]
    assert {u.upn: u.active_sessions for u in rows}[AGENT] == 2
    assert agent.region.slug == "us"


def test_ending_a_users_sessions_signs_every_browser_out_and_is_audited(sign_in):
    first, second = sign_in(AGENT), sign_in(AGENT)
    admin = sign_in(ADMIN)
    agent = User.objects.get(upn=AGENT)
    response = admin.post(f"/users/{agent.pk}/end-sessions/", {"confirm": "yes"})
    assert response.status_code == 302
    assert first.get("/customers/")["Location"].startswith("/signin/")
    assert second.get("/customers/")["Location"].startswith("/signin/")
    assert admin.get("/customers/").status_code == 200
    event = AuditEvent.objects.get(action="user.sessions_end")
    assert event.detail["sessions"] == {"before": 2, "after": 0}
    assert not UserSession.objects.filter(user=agent).exists()


def test_ending_sessions_needs_the_ticked_confirmation(sign_in):
    agent_client = sign_in(AGENT)
    admin = sign_in(ADMIN)
    agent = User.objects.get(upn=AGENT)
    admin.post(f"/users/{agent.pk}/end-sessions/")
    assert agent_client.get("/customers/").status_code == 200
    assert not AuditEvent.objects.filter(action="user.sessions_end").exists()


def test_an_admin_cannot_end_the_sessions_of_another_regions_user(sign_in):
    eu_client = sign_in(EU_AGENT)
    admin = sign_in(ADMIN)
    eu_agent = User.objects.get(upn=EU_AGENT)
    response = admin.post(f"/users/{eu_agent.pk}/end-sessions/", {"confirm": "yes"})
    assert response.status_code == 404
    assert eu_client.get("/customers/").status_code == 200


def test_a_global_admin_sees_every_region_and_filters_by_one(own_region, other_region):
    user_make(region=own_region, upn="a@us.example")
    user_make(region=other_region, upn="b@eu.example")
    global_admin = client_for(user_make(region=own_region, role=Role.GLOBAL_ADMIN))
    everyone = {u.upn for u in global_admin.get("/users/").context["users"]}
    assert {"a@us.example", "b@eu.example"} <= everyone
    eu = {u.upn for u in global_admin.get("/users/?region=eu").context["users"]}
    assert eu == {"b@eu.example"}


def test_the_users_page_is_for_admins_only(own_region):
    manager = client_for(user_make(region=own_region, role=Role.MANAGER))
    assert manager.get("/users/").status_code == 403
    assert Client(HTTP_HOST="localhost").get("/users/").status_code == 302


def test_clearing_sessions_deletes_expired_ones_and_their_tracked_rows(sign_in):
    from datetime import timedelta

    from django.utils import timezone

    expired, live = sign_in(AGENT), sign_in(AGENT)
    Session.objects.filter(session_key=expired.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert UserSession.objects.count() == 2
    assert sessions_clear() == 1
    assert not Session.objects.filter(session_key=expired.session.session_key).exists()
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [
        live.session.session_key
    ]


def test_clearing_sessions_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sessions-clear"]
    assert entry["task"] == "accounts.tasks.sessions_clear"
    assert entry["schedule"] <= 24 * 3600
