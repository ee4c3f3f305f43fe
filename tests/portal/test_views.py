import pytest
from django.test import Client

from accounts.models import Role
from tests.factories import client_for, user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(own_region) -> Client:
    return client_for(user_make(region=own_region, role=Role.ADMIN))


def test_healthz_reports_database_cache_and_broker_readiness_to_an_admin(admin_client):
    response = admin_client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert all(check["ok"] for check in body["checks"].values())


def test_healthz_tells_anyone_else_only_the_status(client, own_region):
    agent = client_for(user_make(region=own_region, role=Role.AGENT))
    for who in (client, agent):
        response = who.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}  # no checks, timings or debug flag


def test_the_home_page_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/signin/"


def test_every_page_carries_a_strict_content_security_policy(client):
    csp = client.get("/signin/")["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


def test_a_post_without_csrf_token_is_refused_with_a_clear_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/signin/", {"username": "agent@contosopartners.com"})
    assert response.status_code == 403
    assert b"form expired" in response.content.lower()


def test_signout_refuses_get(client):
    assert client.get("/signout/").status_code == 405


def test_healthz_names_what_is_down_when_redis_is_unreachable(admin_client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = admin_client.get("/healthz")
    body = response.json()
    assert response.status_code == 200  # the database answers: pages that need only it work
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
