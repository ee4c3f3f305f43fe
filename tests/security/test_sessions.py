"""Session lifetime: idle and absolute timeouts, and sign-out that really ends the session."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from accounts import sessionclock

pytestmark = pytest.mark.django_db

AGENT = "agent@contosopartners.com"


class FrozenClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    frozen = FrozenClock(1_900_000_000.0)
    monkeypatch.setattr(sessionclock, "now", frozen.time)
    return frozen


def test_an_idle_session_is_signed_out(settings, clock, sign_in):
    settings.SESSION_IDLE_TIMEOUT = 600
    client = sign_in(AGENT)
    assert client.get("/customers/").status_code == 200
    clock.now += 590
    assert client.get("/customers/").status_code == 200
    clock.now += 590  # activity 590 s ago: still inside the idle window
    assert client.get("/customers/").status_code == 200
    clock.now += 601
    response = client.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")
    assert client.get("/customers/").status_code == 302


def test_a_busy_session_still_ends_at_the_absolute_timeout(settings, clock, sign_in):
    settings.SESSION_IDLE_TIMEOUT = 600
    settings.SESSION_ABSOLUTE_TIMEOUT = 3600
    client = sign_in(AGENT)
    for _ in range(7):  # a request every 500 s, up to 3,500 s after sign-in
        clock.now += 500
        assert client.get("/customers/").status_code == 200
    clock.now += 200  # 3,700 s after sign-in, only 200 s idle
    response = client.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")


def test_a_session_cookie_replayed_after_sign_out_is_worthless(sign_in):
    client = sign_in(AGENT)
    cookie = client.cookies["portal_session"].value
    assert client.post("/signout/").status_code == 302  # on to Microsoft's sign-out
    assert not Session.objects.filter(session_key=cookie).exists()
    replay = Client(HTTP_HOST="localhost")
    replay.cookies["portal_session"] = cookie
    response = replay.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")


def test_signed_in_pages_are_not_cached_and_cookies_are_http_only(sign_in):
    client = sign_in(AGENT)
    response = client.get("/customers/")
    assert response["Cache-Control"] == "no-store"
    morsel = client.cookies["portal_session"]
    assert morsel["httponly"] and morsel["samesite"] == "Lax"
