"""A region can authenticate its app with a certificate (MSAL's RS256 client assertion, x5t)."""

from __future__ import annotations

import pytest

from mscloud.identity import AppCredentials
from regions.certificates import certificate_thumbprint
from regions.clients import app_token
from regions.setup import Status, run_check
from tests.regions.conftest import make_certificate

pytestmark = pytest.mark.django_db


def _use_certificate(region, key: str, cert: str) -> None:
    region.credential_type = "certificate"
    region.set_certificate(private_key_pem=key, certificate_pem=cert)
    region.save()


def _register(sim, slug: str, cert: str) -> None:
    response = sim.session.post(
        f"{sim.base_url}/_sim/regions/{slug}/app/certificates",
        json={"certificate": cert},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_the_thumbprint_is_the_sha1_of_the_certificate_in_upper_case_hex():
    _, cert = make_certificate()
    thumbprint = certificate_thumbprint(cert)
    assert len(thumbprint) == 40
    assert thumbprint == thumbprint.upper()


def test_a_registered_certificate_gets_an_app_token_and_passes_the_credential_check(regions, sim):
    key, cert = make_certificate()
    _register(sim, "us", cert)
    region = regions["us"]
    _use_certificate(region, key, cert)
    result = run_check(region=region, key="credential")
    assert result.status == Status.OK, result.error
    assert result.facts["thumbprint"] == region.certificate_thumbprint
    assert app_token(region=region).count(".") == 2


def test_a_certificate_the_app_does_not_know_fails_with_aadsts700027(regions, sim):
    key, cert = make_certificate()
    region = regions["us"]
    _use_certificate(region, key, cert)
    result = run_check(region=region, key="credential")
    assert result.status == Status.FAIL
    assert "AADSTS700027" in result.error
    assert "Certificates & secrets" in result.fix


def test_a_key_that_is_not_the_registered_certificates_fails_signature_validation(regions, sim):
    _, cert = make_certificate()
    other_key, _ = make_certificate()
    _register(sim, "us", cert)
    region = regions["us"]
    region.credential_type = "certificate"
    region.set_certificate(private_key_pem=other_key, certificate_pem=cert)
    region.save()
    result = run_check(region=region, key="credential")
    assert result.status == Status.FAIL
    assert "AADSTS700027" in result.error


def test_msal_gets_a_certificate_dict_and_the_repr_shows_no_key_or_secret():
    key, cert = make_certificate()
    creds = AppCredentials(
        login_host="https://login.example",
        client_id="c",
        private_key=key,
        certificate=cert,
        thumbprint="AB" * 20,
    )
    assert creds.client_credential == {
        "private_key": key,
        "thumbprint": "AB" * 20,
        "public_certificate": cert,
    }
    secret = AppCredentials(login_host="https://login.example", client_id="c", client_secret="s3")
    assert secret.client_credential == "s3"
    assert "PRIVATE" not in repr(creds)
    assert "s3" not in repr(secret)


def test_agents_sign_in_through_a_region_that_uses_a_certificate(regions, sim, sign_in):
    key, cert = make_certificate()
    _register(sim, "us", cert)
    _use_certificate(regions["us"], key, cert)
    client = sign_in("agent@contosopartners.com")
    assert client.get("/customers/").status_code == 200
