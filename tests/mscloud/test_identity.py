"""Entra's answers become one vocabulary: IdentityError is a MicrosoftError with a kind, and no
MSAL or requests exception leaves mscloud.

# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
# Reference: https://learn.microsoft.com/en-us/entra/msal/python/advanced/msal-error-handling-python
"""

from __future__ import annotations

import pickle
import socket

import pytest

from mscloud.errors import ErrorKind, MicrosoftError
from mscloud.http import build_session
from mscloud.identity import (
    AppCredentials,
    IdentityError,
    IdentityUnavailable,
    InteractionRequired,
    confidential_app,
    openid_configuration,
    raise_for_result,
)

from .fakes import LOCAL, reply

TENANT = "11111111-1111-1111-1111-111111111111"


def _refusal(error: str, code: int) -> dict:
    return {"error": error, "error_description": f"AADSTS{code}: words.", "error_codes": [code]}


@pytest.mark.parametrize(
    ("answer", "cls", "kind"),
    [
        # Not consented is no interaction: the agent at /authorize cannot consent for the
        # customer, so the portal offers "Consent the app" instead of a redirect.
        (_refusal("invalid_grant", 65001), IdentityError, ErrorKind.NOT_CONSENTED),
        (
            {**_refusal("invalid_grant", 65001), "suberror": "consent_required"},
            IdentityError,
            ErrorKind.NOT_CONSENTED,
        ),
        (
            {"error": "invalid_grant", "error_codes": [50000], "suberror": "consent_required"},
            IdentityError,
            ErrorKind.NOT_CONSENTED,
        ),
        (_refusal("invalid_grant", 90099), IdentityError, ErrorKind.NOT_CONSENTED),
        (_refusal("invalid_grant", 50076), InteractionRequired, ErrorKind.INTERACTION_REQUIRED),
        (_refusal("invalid_client", 7000229), IdentityError, ErrorKind.NOT_CONSENTED),
        (_refusal("unauthorized_client", 700016), IdentityError, ErrorKind.NOT_CONSENTED),
        (_refusal("invalid_client", 7000215), IdentityError, ErrorKind.TOKEN_REFUSED),
        (_refusal("invalid_request", 90002), IdentityError, ErrorKind.UNKNOWN_TENANT),
        ({"error": "temporarily_unavailable"}, IdentityError, ErrorKind.UNAVAILABLE),
    ],
)
def test_an_entra_refusal_is_a_microsoft_error_of_the_matching_kind(answer, cls, kind):
    with pytest.raises(MicrosoftError) as caught:
        raise_for_result(answer)

    assert type(caught.value) is cls
    assert caught.value.kind == kind
    assert caught.value.transient == (kind == ErrorKind.UNAVAILABLE)


def test_an_identity_error_reads_as_entra_wrote_it_and_survives_pickling():
    err = IdentityError("invalid_grant", "AADSTS65001: consent.\r\nTrace ID: x", [65001])

    copy = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object

    assert str(err) == "invalid_grant: AADSTS65001: consent."
    assert (type(copy), copy.kind, copy.codes, copy.aadsts) == (
        IdentityError,
        ErrorKind.NOT_CONSENTED,
        [65001],
        65001,
    )
    assert str(copy) == str(err)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_login_host_is_unavailable_not_a_requests_exception():
    creds = AppCredentials(
        login_host=f"https://127.0.0.1:{_closed_port()}", client_id="c", client_secret="s"
    )

    with pytest.raises(IdentityUnavailable) as caught:
        confidential_app(creds, tenant=TENANT, session=build_session(**LOCAL), http_cache={})

    assert caught.value.kind == ErrorKind.UNAVAILABLE and caught.value.transient


def test_discovery_of_an_unknown_tenant_is_unknown_tenant_not_msal_value_error(https_fake, pki):
    https_fake.queue(reply({"error": "invalid_tenant", "error_codes": [90002]}, status=400))
    creds = AppCredentials(login_host=https_fake.url, client_id="c", client_secret="s")
    session = build_session(ca_bundle=str(pki["ca"]), **LOCAL)

    with pytest.raises(IdentityError) as caught:
        confidential_app(creds, tenant=TENANT, session=session, http_cache={})

    assert caught.value.kind == ErrorKind.UNKNOWN_TENANT and not caught.value.transient
    assert [s.path for s in https_fake.seen] == [f"/{TENANT}/v2.0/.well-known/openid-configuration"]


def test_a_failing_discovery_is_unavailable_and_transient(https_fake, pki):
    https_fake.queue(reply({"error": "server_error"}, status=503))
    creds = AppCredentials(login_host=https_fake.url, client_id="c", client_secret="s")
    session = build_session(ca_bundle=str(pki["ca"]), **LOCAL)

    with pytest.raises(IdentityUnavailable) as caught:
        confidential_app(creds, tenant=TENANT, session=session, http_cache={})

    assert caught.value.kind == ErrorKind.UNAVAILABLE and caught.value.transient


def test_the_openid_configuration_keeps_entra_status_and_first_line(fake):
    fake.queue(
        reply(
            {
                "error": "invalid_tenant",
                "error_description": "AADSTS90002: Tenant 'x' not found.\r\nTrace ID: 1",
                "error_codes": [90002],
            },
            status=400,
        )
    )

    with pytest.raises(IdentityError) as caught:
        openid_configuration(
            login_host=fake.url, tenant=TENANT, session=build_session(**LOCAL), timeout=2
        )

    assert caught.value.status == 400
    assert caught.value.description == "AADSTS90002: Tenant 'x' not found."
    assert caught.value.kind == ErrorKind.UNKNOWN_TENANT
    assert fake.seen[0].path == f"/{TENANT}/v2.0/.well-known/openid-configuration"


def test_an_unreachable_openid_configuration_has_no_status():
    with pytest.raises(IdentityError) as caught:
        openid_configuration(
            login_host=f"http://127.0.0.1:{_closed_port()}",
            tenant=TENANT,
            session=build_session(**LOCAL),
            timeout=2,
        )

    assert caught.value.status is None and caught.value.kind == ErrorKind.UNAVAILABLE


def _app_at(fake, pki):
    base = f"{fake.url}/{TENANT}"
    fake.queue(
        reply(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
            }
        )
    )
    creds = AppCredentials(login_host=fake.url, client_id="c", client_secret="s")
    return confidential_app(
        creds,
        tenant=TENANT,
        session=build_session(ca_bundle=str(pki["ca"]), **LOCAL),
        http_cache={},
    )


def test_a_sign_in_response_with_another_state_is_a_mismatch_and_never_redeemed(https_fake, pki):
    app = _app_at(https_fake, pki)
    flow = app.auth_code_flow_start(
        scopes=["s/.default"], redirect_uri="https://p/cb", login_hint=""
    )

    with pytest.raises(IdentityError) as caught:
        app.auth_code_flow_redeem(flow, {"code": "c", "state": "not-" + flow["state"]})

    assert caught.value.kind == ErrorKind.SIGNIN_MISMATCH
    assert len(https_fake.seen) == 1  # discovery only: no token request was sent


def test_a_token_endpoint_server_error_is_unavailable(https_fake, pki):
    app = _app_at(https_fake, pki)
    https_fake.queue(reply({"error": "server_error"}, status=500))

    with pytest.raises(IdentityUnavailable) as caught:
        app.token_for_client(scopes=["s/.default"])

    assert caught.value.transient
    assert https_fake.seen[-1].path == f"/{TENANT}/oauth2/v2.0/token"


def test_a_consent_required_suberror_survives_pickling():
    with pytest.raises(IdentityError) as caught:
        raise_for_result(
            {"error": "invalid_grant", "error_codes": [1], "suberror": "consent_required"}
        )

    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own object

    assert (copy.kind, copy.suberror) == (ErrorKind.NOT_CONSENTED, "consent_required")
