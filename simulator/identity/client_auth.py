"""Who is calling the token endpoint: a client secret (form or HTTP Basic) or a certificate
credential (a client assertion signed with a certificate registered on the app).

Reference: https://learn.microsoft.com/entra/identity-platform/certificate-credentials
"""

from __future__ import annotations

import base64
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from werkzeug.wrappers import Request

from simulator.identity.errors import AadError, app_not_found
from simulator.signing import b64url

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import App, Tenant

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _client_credentials_of(request: Request) -> tuple[str, str | None]:
    form = request.form
    client_id, secret = form.get("client_id", ""), form.get("client_secret")
    if request.authorization and request.authorization.type == "basic":
        client_id = request.authorization.username or client_id
        secret = request.authorization.password or secret
    return client_id.strip(), secret


def authenticate_client(ctx: SimContext, request: Request, tenant: Tenant | None) -> App:
    client_id, secret = _client_credentials_of(request)
    if not client_id:
        raise AadError(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    app = ctx.world.app(client_id)
    if app is None:
        raise app_not_found(client_id, tenant)
    assertion = request.form.get("client_assertion")
    if secret is None and assertion:
        _verify_client_assertion(request, app, assertion)
        return app
    if secret is None:
        raise AadError(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
            status=401,
        )
    if not secrets.compare_digest(secret.encode(), app.client_secret.encode()):
        raise AadError(
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the "
            f"client secret value, not the client secret ID, for a secret added to app "
            f"'{app.client_id}'.",
            status=401,
        )
    return app


def _registered_certificates(app: App) -> dict[str, x509.Certificate]:
    """The app's certificates by x5t (SHA-1) and x5t#S256 (SHA-256), base64url."""
    found: dict[str, x509.Certificate] = {}
    for pem in app.certificates:
        cert = x509.load_pem_x509_certificate(pem.encode())
        found[b64url(cert.fingerprint(hashes.SHA1()))] = cert  # noqa: S303 - what x5t is
        found[b64url(cert.fingerprint(hashes.SHA256()))] = cert
    return found


def _verify_client_assertion(request: Request, app: App, assertion: str) -> None:
    """A certificate credential: a JWT (RS256 with x5t, or PS256 with x5t#S256) signed by the
    key of a certificate registered on the app, iss = sub = client id, aud = token endpoint.

    Reference: https://learn.microsoft.com/entra/identity-platform/certificate-credentials
    """
    if request.form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise AadError(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_assertion_type'.",
        )
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise AadError(
            "invalid_client", 50027, "JWT token is invalid or malformed.", status=401
        ) from exc
    # MSAL pads its base64url thumbprints; RFC 7515 does not. Accept both.
    thumbprint = str(header.get("x5t#S256") or header.get("x5t") or "").rstrip("=")
    cert = _registered_certificates(app).get(thumbprint)
    if cert is None:
        try:
            shown = base64.urlsafe_b64decode(thumbprint + "=" * (-len(thumbprint) % 4)).hex()
        except ValueError:
            shown = thumbprint
        raise AadError(
            "invalid_client",
            700027,
            "The certificate with identifier used to sign the client assertion is not "
            "registered on application. [Reason - The key was not found., Thumbprint of key "
            f"used by client: '{shown.upper()}', Please visit the Azure Portal, Graph Explorer "
            f"or directly use MS Graph to see configured keys for app Id '{app.client_id}'.]",
            status=401,
        )
    try:
        claims = jwt.decode(
            assertion,
            cert.public_key(),
            algorithms=["RS256", "PS256"],
            options={"verify_aud": False, "require": ["exp", "iss", "sub", "aud"]},
            leeway=300,  # Entra tolerates five minutes of clock skew
        )
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
        raise AadError(
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
            status=401,
        ) from exc
    except jwt.MissingRequiredClaimError as exc:
        raise AadError(
            "invalid_client", 50027, "JWT token is invalid or malformed.", status=401
        ) from exc
    except jwt.PyJWTError as exc:
        raise AadError(
            "invalid_client", 700027, "Client assertion failed signature validation.", status=401
        ) from exc
    if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
        raise AadError(
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
            status=401,
        )
    # The audience is the token endpoint the assertion was made for (*unconfirmed* how
    # strictly Entra compares it; here: any of this simulator's token endpoints).
    audience = urlsplit(str(claims.get("aud", ""))).path
    if not audience.endswith(("/oauth2/v2.0/token", "/oauth2/token")):
        raise AadError(
            "invalid_client",
            700027,
            "Client assertion contains an invalid audience: it must be the token endpoint.",
            status=401,
        )
