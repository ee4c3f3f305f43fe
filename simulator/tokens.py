"""Access tokens: the audiences Graph and Partner Center accept, issuer, verification.

The keys that sign them are in simulator/signing.py.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import jwt

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


def new_id() -> str:
    return str(uuid.uuid4())


def access_token_issuer(tenant_id: str) -> str:
    # Graph and Partner Center accept v1.0 access tokens, and Entra issues those for them
    # even from the v2.0 endpoint: issuer sts.windows.net, ver "1.0".
    return f"https://sts.windows.net/{tenant_id}/"


# An opaque access token (the `opaque_access_tokens` fault): the signed JWT wrapped so that a
# client cannot read it, as Microsoft may encrypt tokens for its own APIs. Only the resource
# (this simulator) unwraps it.
# Reference: https://learn.microsoft.com/entra/identity-platform/access-tokens
OPAQUE_PREFIX = "EwSim"


def opaque_token(signed_jwt: str) -> str:
    return OPAQUE_PREFIX + base64.urlsafe_b64encode(signed_jwt[::-1].encode()).decode().rstrip("=")


def _unwrap(raw: str) -> str:
    if not raw.startswith(OPAQUE_PREFIX):
        return raw
    body = raw[len(OPAQUE_PREFIX) :]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()[::-1]
    except ValueError:
        return raw


# Tokens whose signature this process has checked, by (signing key, raw token): a client
# sends the same token for an hour, and an RSA verification per request was a fifth of the
# simulator's CPU in a sweep. The time checks (exp, nbf), the audience, the tenant and
# revocation are still made on every request.
_VERIFIED: OrderedDict[tuple[int, str], dict[str, Any]] = OrderedDict()
_VERIFIED_LOCK = threading.Lock()
_VERIFIED_SIZE = 50_000


def _signature_checked(ctx: SimContext, raw: str) -> dict[str, Any]:
    key = (id(ctx.signing.public_key), raw)
    with _VERIFIED_LOCK:
        claims = _VERIFIED.get(key)
        if claims is not None:
            _VERIFIED.move_to_end(key)
    if claims is None:
        claims = jwt.decode(
            _unwrap(raw),
            ctx.signing.public_key,
            algorithms=["RS256"],
            options={"verify_aud": False, "require": ["exp", "nbf", "tid", "aud"]},
            leeway=0,
        )
        with _VERIFIED_LOCK:
            _VERIFIED[key] = claims
            while len(_VERIFIED) > _VERIFIED_SIZE:
                _VERIFIED.popitem(last=False)
    # PyJWT's own rules, leeway 0: expired at exp, valid from nbf.
    now = time.time()
    if float(claims["exp"]) <= now or float(claims["nbf"]) > now:
        raise jwt.ExpiredSignatureError("Signature has expired")
    return claims


def verify_access_token(ctx: SimContext, raw: str, *, audiences: set[str]) -> dict[str, Any]:
    """Claims of a valid access token for one of `audiences`, or InvalidToken saying why."""
    try:
        claims = _signature_checked(ctx, raw)
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
        payload = _unwrap(raw).split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
