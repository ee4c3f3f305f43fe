"""The colour theme switch: stored per user, audited, drawn by the server before first paint."""

from __future__ import annotations

import pytest

from accounts.models import Theme, User
from accounts.preferences import theme_of
from audit.models import AuditEvent
from tests.factories import client_for

pytestmark = pytest.mark.django_db


def test_a_new_user_follows_the_system_theme(own_agent: User):
    page = client_for(own_agent).get("/alerts/")
    assert b'data-theme="auto"' in page.content
    # Light until static/js/theme.js (blocking, in <head>) reads prefers-color-scheme.
    assert b'data-bs-theme="light"' in page.content
    assert b"js/theme.js" in page.content


def test_choosing_dark_stores_it_and_pages_are_drawn_dark_by_the_server(own_agent: User):
    client = client_for(own_agent)
    answer = client.post("/preferences/theme/", {"theme": "dark", "next": "/alerts/"})
    assert answer.status_code == 302 and answer["Location"] == "/alerts/"
    assert theme_of(own_agent) == Theme.DARK
    page = client.get("/alerts/")
    assert b'data-bs-theme="dark"' in page.content and b'data-theme="dark"' in page.content


def test_a_theme_change_is_audited_with_before_and_after(own_agent: User):
    client_for(own_agent).post("/preferences/theme/", {"theme": "light"})
    event = AuditEvent.objects.get(action="preference.theme")
    assert event.detail == {"before": "auto", "after": "light"}
    assert event.user_id == own_agent.pk


def test_an_unknown_theme_is_refused_and_nothing_is_stored(own_agent: User):
    answer = client_for(own_agent).post("/preferences/theme/", {"theme": "purple"})
    assert answer.status_code == 400
    assert b"Unknown theme" in answer.content
    assert theme_of(own_agent) == Theme.AUTO
    assert not AuditEvent.objects.filter(action="preference.theme").exists()


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_the_switch_never_redirects_off_the_site(own_agent: User, target: str):
    answer = client_for(own_agent).post("/preferences/theme/", {"theme": "dark", "next": target})
    assert answer.status_code == 302 and answer["Location"] == "/"


def test_the_switch_needs_the_form_token(own_agent: User):
    client = client_for(own_agent)
    client.handler.enforce_csrf_checks = True
    answer = client.post("/preferences/theme/", {"theme": "dark"})
    assert answer.status_code == 403
    assert theme_of(own_agent) == Theme.AUTO


def test_the_switch_is_refused_to_anonymous_visitors(portal_client):
    answer = portal_client.post("/preferences/theme/", {"theme": "dark"})
    assert answer.status_code == 302 and answer["Location"].startswith("/signin/")


def test_the_nav_offers_light_dark_and_auto_with_the_current_one_marked(own_agent: User):
    client = client_for(own_agent)
    client.post("/preferences/theme/", {"theme": "dark"})
    html = client.get("/alerts/").content.decode()
    for value in ("light", "dark", "auto"):
        assert f'data-testid="theme-{value}"' in html
    assert 'value="dark" class="dropdown-item active" aria-current="true"' in html
