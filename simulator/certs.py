"""A local CA and a server certificate signed by it, generated on first start.

Clients trust `ca.pem`; the server certificate covers IP 127.0.0.1, ::1 and DNS localhost
(plus any extra host names given), and is re-issued when it lacks a name or nears expiry.
Also the thumbprint Entra shows for a certificate uploaded to an app registration.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("127.0.0.1", "::1", "localhost")
# Browsers cap leaf certificates at 398 days; stay under it and renew 30 days ahead.
SERVER_DAYS = 397
RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class CertPaths:
    ca: Path
    cert: Path
    key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _san(hosts: tuple[str, ...]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _load_ca(
    paths: CertPaths, ca_key_path: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    if paths.ca.exists() and ca_key_path.exists():
        cert = x509.load_pem_x509_certificate(paths.ca.read_bytes())
        key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if (
            isinstance(key, ec.EllipticCurvePrivateKey)
            and cert.not_valid_after_utc > datetime.now(UTC) + RENEW_BEFORE
        ):
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CSP Portal Simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, "CSP Portal Simulator Local CA"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(ca_key_path, key)
    paths.ca.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    # A new CA invalidates any server certificate signed by the old one.
    paths.cert.unlink(missing_ok=True)
    return cert, key


def _server_cert_ok(paths: CertPaths, ca: x509.Certificate, hosts: tuple[str, ...]) -> bool:
    if not (paths.cert.exists() and paths.key.exists()):
        return False
    cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())
    if cert.issuer != ca.subject or cert.not_valid_after_utc < datetime.now(UTC) + RENEW_BEFORE:
        return False
    try:
        present = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return all(name in present for name in _san(hosts))


def ensure_certificates(data_dir: Path, extra_hosts: tuple[str, ...] = ()) -> CertPaths:
    """CA and server certificate under `data_dir`, created or renewed as needed."""
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = CertPaths(data_dir / "ca.pem", data_dir / "server.pem", data_dir / "server-key.pem")
    hosts = tuple(dict.fromkeys((*DEFAULT_HOSTS, *extra_hosts)))
    ca_cert, ca_key = _load_ca(paths, data_dir / "ca-key.pem")
    if _server_cert_ok(paths, ca_cert, hosts):
        return paths
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=SERVER_DAYS))
        .add_extension(_san(hosts), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(paths.key, key)
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return paths


def certificate_thumbprint(pem: str) -> str:
    """The upper-case hex SHA-1 thumbprint Entra lists for an app's certificate credential."""
    cert = x509.load_pem_x509_certificate(pem.encode())
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Entra's thumbprint
