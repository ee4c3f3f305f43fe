"""PEM certificates for app credentials: parsing, thumbprints, key/certificate matching."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa


class CertificateError(ValueError):
    """The PEM text is not what we need; the message says what to fix."""


def load_certificate(pem: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.strip().encode())
    except ValueError as exc:
        raise CertificateError(
            "This is not a PEM certificate. Paste the text from -----BEGIN CERTIFICATE----- "
            "to -----END CERTIFICATE-----."
        ) from exc


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except TypeError as exc:
        raise CertificateError(
            "This private key is protected by a passphrase. Export it without one "
            "(it is stored encrypted here)."
        ) from exc
    except ValueError as exc:
        raise CertificateError(
            "This is not a PEM private key. Paste the text from -----BEGIN PRIVATE KEY----- "
            "to -----END PRIVATE KEY-----."
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError("Entra needs an RSA key for certificate credentials.")
    return key


def certificate_thumbprint(pem: str) -> str:
    """SHA-1 thumbprint in upper-case hex, as Entra's "Certificates & secrets" shows it."""
    return load_certificate(pem).fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303


def certificate_expiry(pem: str) -> datetime:
    return load_certificate(pem).not_valid_after_utc.astimezone(UTC)


def check_key_pair(*, private_key_pem: str, certificate_pem: str) -> None:
    """Raise CertificateError unless the private key belongs to the certificate."""
    key = load_private_key(private_key_pem)
    cert = load_certificate(certificate_pem)
    if key.public_key().public_numbers() != cert.public_key().public_numbers():
        raise CertificateError(
            "The private key does not belong to this certificate. Paste the key that was "
            "generated together with it."
        )
