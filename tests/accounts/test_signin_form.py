import pytest

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_an_unknown_username_domain_gets_a_clear_message_and_no_redirect(client):
    response = client.post("/signin/", {"username": "someone@unknown.example"})
    assert response.status_code == 400
    assert "No region signs in accounts of" in response.content.decode()
    assert "unknown.example" in response.content.decode()


def test_a_username_that_is_not_an_address_is_a_field_error(client):
    response = client.post("/signin/", {"username": "not-an-address"})
    assert response.status_code == 400
    assert "name@domain" in response.content.decode()


def test_a_callback_without_a_pending_sign_in_shows_a_friendly_page(client):
    response = client.get("/auth/callback/?code=abc&state=def")
    assert response.status_code == 400
    assert "Please sign in again" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(action="signin").exists()


def test_a_callback_with_an_oversized_parameter_is_a_400_not_a_500(client):
    response = client.get("/auth/callback/", {"code": "x" * 100_000, "state": "s"})
    assert response.status_code == 400
