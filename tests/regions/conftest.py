"""Region admin fixtures: a signed-in portal admin and form data pointing at the simulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.test import Client

from tests.simharness import Simulator

ADMIN = "admin@contosopartners.com"


@pytest.fixture
def admin_client(sign_in: Callable[[str], Client]) -> Client:
    return sign_in(ADMIN)


def sim_region(world: dict[str, Any], slug: str) -> dict[str, Any]:
    return next(r for r in world["regions"] if r["slug"] == slug)


@pytest.fixture
def region_data(world: dict[str, Any], sim: Simulator) -> Callable[..., dict[str, str]]:
    """POST data for the region form: the simulator's region `slug`, with overrides."""

    def _data(slug: str = "eu", **overrides: str) -> dict[str, str]:
        region = sim_region(world, slug)
        endpoints = world["endpoints"]
        data = {
            "name": region["name"],
            "slug": region["slug"],
            "active": "on",
            "domains": region["partner_domain"],
            "partner_tenant_id": region["partner_tenant_id"],
            "cloud": "custom",
            "login_host": endpoints["login"],
            "graph_base_url": endpoints["graph"],
            "graph_resource": "https://graph.microsoft.com",
            "partner_center_base_url": endpoints["partner_center"],
            "ca_bundle": sim.ca,
            "client_id": region["app"]["client_id"],
            "credential_type": "secret",
            "client_secret": region["app"]["client_secret"],
            "client_secret_expires_on": (date.today() + timedelta(days=365)).isoformat(),
        }
        data.update(overrides)
        return {k: v for k, v in data.items() if v is not None}

    return _data


def make_certificate(*, days: int = 365, key: rsa.RSAPrivateKey | None = None) -> tuple[str, str]:
    """(private key PEM, self-signed certificate PEM), valid for `days` (negative: expired)."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CSP Portal test")])
    now = datetime.now(UTC)
    start, end = (now - timedelta(days=1), now + timedelta(days=days))
    if days < 0:
        start, end = now + timedelta(days=days * 2), now + timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()
