"""The v2 and v1 authorize endpoints as a browser sees them: the form, errors, SSO."""

from __future__ import annotations

import html
from urllib.parse import urlencode

from tests.simulator.conftest import (
    GRAPH_DEFAULT,
    REDIRECT_URI,
    active_customer,
    browser,
    msal_app,
    query_of,
    sign_in,
)

PASSWORD = "Sim-Passw0rd!"
AGENT = "agent@contosopartners.com"


def authorize_url(sim, region, tenant, **extra):
    params = {
        "client_id": region["app"]["client_id"],
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile offline_access https://graph.microsoft.com/.default",
        "state": "st4te",
        "nonce": "n0nce",
    }
    params.update(extra)
    return f"{sim.http_base}/{tenant}/oauth2/v2.0/authorize?{urlencode(params)}"


def test_the_sign_in_page_prefills_the_login_hint_and_escapes_it(sim, us):
    hint = 'agent@contosopartners.com"><b>'
    page = browser().get(authorize_url(sim, us, us["partner_tenant_id"], login_hint=hint))

    assert page.status_code == 200
    assert 'name="passwd"' in page.text
    assert html.escape(hint) in page.text
    assert '"><b>' not in page.text


def test_an_unknown_user_sees_aadsts50034_on_the_page(sim, us):
    response = sign_in(authorize_url(sim, us, us["partner_tenant_id"]), "ghost@x.com", PASSWORD)

    assert response.status_code == 200
    assert "AADSTS50034" in response.text


def test_a_wrong_password_shows_aadsts50126(sim, us):
    response = sign_in(authorize_url(sim, us, us["partner_tenant_id"]), AGENT, "wrong")

    assert "AADSTS50126" in response.text


def test_an_agent_of_another_partner_sees_aadsts50020(sim, us, eu):
    url = authorize_url(sim, us, active_customer(eu)["tenant_id"])

    response = sign_in(url, AGENT, PASSWORD)

    assert response.status_code == 200
    assert "AADSTS50020" in response.text


def test_a_foreign_redirect_uri_is_shown_on_the_page_and_never_followed(sim, us):
    url = authorize_url(sim, us, us["partner_tenant_id"], redirect_uri="https://evil.example/cb")

    response = browser().get(url, allow_redirects=False)

    assert response.status_code == 400
    assert "AADSTS50011" in response.text
    assert "Location" not in response.headers


def test_an_invalid_scope_is_redirected_back_with_the_state(sim, us):
    url = authorize_url(sim, us, us["partner_tenant_id"], scope="openid Mail.Send")

    query = query_of(browser().get(url, allow_redirects=False))

    assert query["error"] == "invalid_scope"
    assert query["state"] == "st4te"
    assert "AADSTS70011" in query["error_description"]


def test_a_second_authorize_for_the_same_user_completes_without_the_form(sim, us):
    session = browser()
    first = sign_in(
        authorize_url(sim, us, us["partner_tenant_id"]), AGENT, PASSWORD, session=session
    )
    assert "code" in query_of(first)

    second = session.get(
        authorize_url(sim, us, active_customer(us)["tenant_id"], login_hint=AGENT),
        allow_redirects=False,
    )
    forced = session.get(
        authorize_url(sim, us, us["partner_tenant_id"], prompt="login"), allow_redirects=False
    )

    assert "code" in query_of(second)
    assert forced.status_code == 200 and 'name="passwd"' in forced.text


def test_prompt_none_without_a_session_answers_login_required(sim, us):
    url = authorize_url(sim, us, us["partner_tenant_id"], prompt="none")

    query = query_of(browser().get(url, allow_redirects=False))

    assert query["error"] == "login_required"


def test_the_v1_endpoints_take_resource_and_answer_string_numbers(sim, us):
    params = {
        "client_id": us["app"]["client_id"],
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "resource": "https://graph.microsoft.com",
        "state": "s",
    }
    tenant = us["partner_tenant_id"]
    url = f"{sim.http_base}/{tenant}/oauth2/authorize?{urlencode(params)}"
    code = query_of(sign_in(url, AGENT, PASSWORD))["code"]

    token = sim.session.post(
        f"{sim.base_url}/{tenant}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": us["app"]["client_id"],
            "client_secret": us["app"]["client_secret"],
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "resource": "https://graph.microsoft.com",
        },
    ).json()

    assert token["resource"] == "https://graph.microsoft.com"
    assert token["expires_on"].isdigit() and token["not_before"].isdigit()
    assert token["expires_in"].isdigit()
    assert "refresh_token" in token and "id_token" in token


def test_v1_client_credentials_answer_expires_on_and_resource(sim, us):
    tenant = active_customer(us)["tenant_id"]

    token = sim.session.post(
        f"{sim.base_url}/{tenant}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": us["app"]["client_id"],
            "client_secret": us["app"]["client_secret"],
            "resource": "https://api.partnercenter.microsoft.com",
        },
    ).json()

    assert token["resource"] == "https://api.partnercenter.microsoft.com"
    assert token["expires_on"].isdigit()


def test_error_bodies_carry_the_trace_lines_and_ids(sim, us):
    response = sim.session.post(
        f"{sim.base_url}/{us['partner_tenant_id']}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": us["app"]["client_id"]},
        headers={"client-request-id": "11111111-2222-3333-4444-555555555555"},
    )

    body = response.json()
    assert response.status_code == 401
    assert set(body) >= {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
        "error_uri",
    }
    lines = body["error_description"].split("\r\n")
    assert lines[0].startswith("AADSTS7000218: ")
    assert lines[1] == f"Trace ID: {body['trace_id']}"
    assert lines[2] == "Correlation ID: 11111111-2222-3333-4444-555555555555"
    assert lines[3].startswith("Timestamp: ")


def test_form_post_mode_returns_a_form_to_the_redirect_uri(sim, us):
    app = msal_app(sim, us, us["partner_tenant_id"])
    flow = app.initiate_auth_code_flow(
        GRAPH_DEFAULT, redirect_uri=REDIRECT_URI, response_mode="form_post"
    )

    response = sign_in(flow["auth_uri"], AGENT, PASSWORD)

    assert response.status_code == 200
    assert f'action="{REDIRECT_URI}"' in response.text
    assert 'name="code"' in response.text
