"""Error pages: inside the portal's frame (with navigation when signed in), with a request id
to quote that is also in the response header and the log line; never Django's debug 404."""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client, override_settings
from django.urls import path

from accounts.models import User
from portal.urls import urlpatterns as portal_urlpatterns
from tests.factories import HOST, client_for

pytestmark = pytest.mark.django_db

MISSING_CUSTOMER = "/customers/00000000-0000-4000-8000-000000000000/"


def _boom(request):
    raise RuntimeError("the database fell over")


urlpatterns = [path("boom/", _boom), *portal_urlpatterns]
handler404 = "portal.views.page_not_found"
handler403 = "portal.views.permission_denied"
handler500 = "portal.views.server_error"


def _quoted_id(html: str) -> str:
    found = re.search(r'data-testid="request-id">.*?<code[^>]*>([0-9a-f]{32})</code>', html, re.S)
    assert found, html[-2000:]
    return found.group(1)


def test_every_response_carries_a_request_id_header(portal_client: Client):
    first = portal_client.get("/signin/")["X-Request-ID"]
    second = portal_client.get("/signin/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_a_request_id_from_the_proxy_is_kept_and_a_malformed_one_replaced():
    client = Client(HTTP_HOST=HOST)
    assert client.get("/signin/", HTTP_X_REQUEST_ID="lb-1234abcd")["X-Request-ID"] == "lb-1234abcd"
    odd = client.get("/signin/", HTTP_X_REQUEST_ID="<script>alert(1)</script>")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", odd)


def test_a_signed_in_404_is_in_the_frame_with_navigation_and_the_request_id(own_agent: User):
    answer = client_for(own_agent).get(MISSING_CUSTOMER)
    html = answer.content.decode()
    assert answer.status_code == 404
    assert 'data-testid="error-404"' in html
    assert 'href="/customers/"' in html and "Sign out" in html  # the nav
    assert _quoted_id(html) == answer["X-Request-ID"]


def test_an_anonymous_404_is_in_the_public_frame_without_navigation(portal_client: Client):
    answer = portal_client.get("/no-such-page/")
    html = answer.content.decode()
    assert answer.status_code == 404 and 'data-testid="error-404"' in html
    assert "Sign out" not in html
    assert _quoted_id(html) == answer["X-Request-ID"]


def test_a_403_is_in_the_frame_and_names_the_role_it_needs(own_agent: User):
    answer = client_for(own_agent).get("/compliance/")
    html = answer.content.decode()
    assert answer.status_code == 403 and 'data-testid="error-403"' in html
    assert "It needs the Manager role." in html and "Sign out" in html
    assert _quoted_id(html) == answer["X-Request-ID"]


@override_settings(ROOT_URLCONF=__name__)
def test_a_500_is_in_the_frame_and_its_request_id_is_in_the_log_line(own_agent: User, caplog):
    client = client_for(own_agent)
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        answer = client.get("/boom/")
    html = answer.content.decode()
    assert answer.status_code == 500 and 'data-testid="error-500"' in html
    assert "Sign out" in html
    quoted = _quoted_id(html)
    assert quoted == answer["X-Request-ID"]
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert logged and all(r.request_id == quoted for r in logged)


def test_the_log_format_prints_the_request_id():
    from django.conf import settings

    assert "%(request_id)s" in settings.LOGGING["formatters"]["plain"]["format"]
    assert "request_id" in settings.LOGGING["handlers"]["console"]["filters"]


@override_settings(DEBUG=True)
def test_with_debug_on_an_unknown_url_shows_the_portals_404_not_every_url(own_agent: User):
    answer = client_for(own_agent).get("/no-such-page/")
    html = answer.content.decode()
    assert answer.status_code == 404 and 'data-testid="error-404"' in html
    assert "URLconf" not in html and "Using the URLconf" not in html


@override_settings(DEBUG=True)
def test_with_debug_on_a_404_raised_by_a_view_shows_the_portals_page(own_agent: User):
    answer = client_for(own_agent).get(MISSING_CUSTOMER)
    html = answer.content.decode()
    assert answer.status_code == 404 and 'data-testid="error-404"' in html
    assert "technical_404" not in html and "Raised by" not in html


@override_settings(DEBUG=True)
def test_with_debug_on_a_missing_slash_still_redirects(own_agent: User):
    answer = client_for(own_agent).get("/customers")
    assert answer.status_code == 301 and answer["Location"] == "/customers/"
