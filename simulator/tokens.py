"""Signing keys, JWT issuing and access-token verification.

Like Entra, one global key set signs tokens for every tenant (no per-tenant keys), and the
JWKS is the same document under every tenant.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from simulator.context import SimContext

GRAPH_AUDIENCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
PARTNER_CENTER_AUDIENCE = "https://api.partnercenter.microsoft.com"
PARTNER_CENTER_APP_ID = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
GRAPH_AUDIENCES = {GRAPH_AUDIENCE, GRAPH_APP_ID}
PARTNER_CENTER_AUDIENCES = {PARTNER_CENTER_AUDIENCE, PARTNER_CENTER_APP_ID}


class InvalidToken(Exception):
    """The bearer token is not one this simulator would accept; the message says why."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass
class SigningKeys:
    """The RSA key and self-signed certificate that sign every token (kid = x5t)."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def load_or_create(cls, data_dir: Path) -> SigningKeys:
        """Reuse the key across restarts so tokens a client holds stay valid."""
        key_path = data_dir / "signing-key.pem"
        cert_path = data_dir / "signing-cert.pem"
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if isinstance(key, rsa.RSAPrivateKey):
                return cls(key, cert)
        keys = cls.generate()
        data_dir.mkdir(parents=True, exist_ok=True)
        key_path.write_bytes(
            keys.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
        cert_path.write_bytes(keys.certificate.public_bytes(serialization.Encoding.PEM))
        return keys

    @classmethod
    def generate(cls) -> SigningKeys:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.simulator.local")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @cached_property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    @property
    def kid(self) -> str:
        return self.x5t

    @cached_property
    def x5t(self) -> str:
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return b64url(hashlib.sha1(der, usedforsecurity=False).digest())

    def jwk(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": _int_b64url(numbers.n),
            "e": _int_b64url(numbers.e),
            "x5c": [base64.b64encode(der).decode("ascii")],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk()]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims,
            self.private_key,
            algorithm="RS256",
            headers={"typ": "JWT", "kid": self.kid, "x5t": self.x5t},
        )


def new_id() -> str:
    return str(uuid.uuid4())


def access_token_issuer(tenant_id: str) -> str:
    # Graph and Partner Center accept v1.0 access tokens, and Entra issues those for them
    # even from the v2.0 endpoint: issuer sts.windows.net, ver "1.0".
    return f"https://sts.windows.net/{tenant_id}/"


def verify_access_token(ctx: SimContext, raw: str, *, audiences: set[str]) -> dict[str, Any]:
    """Claims of a valid access token for one of `audiences`, or InvalidToken saying why."""
    try:
        claims = jwt.decode(
            raw,
            ctx.signing.public_key,
            algorithms=["RS256"],
            options={"verify_aud": False, "require": ["exp", "nbf", "tid", "aud"]},
            leeway=0,
        )
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
        raise InvalidToken("Access token has expired or is not yet valid.") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("Access token validation failure. Invalid signature.") from exc
    if claims.get("aud") not in audiences:
        raise InvalidToken("Invalid audience.")
    if ctx.world.find_tenant(str(claims["tid"])) is None:
        raise InvalidToken("The tenant of the access token does not exist.")
    if ctx.grants.revoked(str(claims["tid"]), float(claims.get("iat", 0))):
        raise InvalidToken("Access token has expired or is not yet valid.")
    return claims


def unverified_claims(raw: str) -> dict[str, Any]:
    """Payload of a JWT without checking it (for logging and per-tenant faults only)."""
    try:
        payload = raw.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
