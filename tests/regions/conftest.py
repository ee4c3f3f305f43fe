"""Region helpers: the simulator's description of a region, and test certificates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def sim_region(world: dict[str, Any], slug: str) -> dict[str, Any]:
    return next(r for r in world["regions"] if r["slug"] == slug)


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
