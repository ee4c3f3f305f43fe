"""MSAL wrapper: confidential client apps for a region's partner-managed app registration.

# Reference: https://learn.microsoft.com/en-us/entra/msal/python/
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

import msal
import requests
from msal.exceptions import MsalServiceError

# Discovery documents are cached per process (MSAL keeps successful GETs for 24 h), so building
# an app per request costs no network round trip after the first.
_HTTP_CACHE: dict = {}
_HTTP_CACHE_LOCK = threading.Lock()

# AADSTS codes that mean "a user must come back through /authorize".
INTERACTION_CODES = {50076, 50079, 50158, 65001, 70008, 700082, 50173, 50078, 53003, 530003}


class IdentityError(Exception):
    """A token request failed; `str()` is safe to show (no token, no secret)."""

    def __init__(self, error: str, description: str = "", codes: list[int] | None = None) -> None:
        self.error = error
        self.description = description.split("\r\n")[0].split("\n")[0]
        self.codes = codes or []
        super().__init__(f"{error}: {self.description}" if self.description else error)

    @property
    def aadsts(self) -> int | None:
        return self.codes[0] if self.codes else None


class InteractionRequired(IdentityError):
    """Silent acquisition is impossible: send the agent to the tenant's /authorize."""


class IdentityUnavailable(IdentityError):
    """Entra could not be reached (connection refused, timeout, TLS): worth a retry later."""

    def __init__(self, exc: Exception) -> None:
        super().__init__(
            "temporarily_unavailable",
            f"Microsoft's sign-in service could not be reached ({type(exc).__name__}).",
        )


@dataclass(frozen=True)
class AppCredentials:
    """The app's client id and one credential: a secret, or a certificate (PEM key + cert)."""

    login_host: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)
    certificate: str = ""
    thumbprint: str = ""  # SHA-1, hex

    @property
    def client_credential(self) -> str | dict[str, str]:
        """What MSAL's `client_credential=` takes: the secret, or a certificate dict that
        makes it sign an RS256 client assertion with `x5t` (and `x5c` for SNI)."""
        if self.private_key:
            credential = {"private_key": self.private_key, "thumbprint": self.thumbprint}
            if self.certificate:
                credential["public_certificate"] = self.certificate
            return credential
        return self.client_secret


def confidential_app(
    creds: AppCredentials,
    *,
    tenant: str,
    session: requests.Session,
    token_cache: msal.TokenCache | None = None,
    http_cache: dict | None = None,
) -> msal.ConfidentialClientApplication:
    """An MSAL app whose authority is `tenant` on the credentials' login host.

    `http_cache` defaults to one shared per process (discovery documents); pass your own to
    control MSAL's 60-second memory of an identical HTTP 400 (see `forget_refusals`)."""
    try:
        return _build(creds, tenant, session, token_cache, http_cache)
    except (requests.RequestException, MsalServiceError) as exc:
        raise IdentityUnavailable(exc) from exc
    except ValueError as exc:
        # MSAL raises ValueError when discovery answers 4xx (unknown tenant, bad authority).
        raise IdentityError("invalid_authority", str(exc)) from exc


def _build(
    creds: AppCredentials,
    tenant: str,
    session: requests.Session,
    token_cache: msal.TokenCache | None,
    http_cache: dict | None,
) -> msal.ConfidentialClientApplication:
    # The shared cache is written by every request thread; a caller's own cache (per tenant)
    # needs no lock, so building apps for many tenants at once is not serialized.
    shared = http_cache is None
    with _HTTP_CACHE_LOCK if shared else contextlib.nullcontext():
        return msal.ConfidentialClientApplication(
            creds.client_id,
            client_credential=creds.client_credential,
            authority=f"{creds.login_host.rstrip('/')}/{tenant}",
            token_cache=token_cache,
            http_client=session,
            # Not every host is one MSAL knows (sovereign clouds, the local simulator); instance
            # discovery would call login.microsoftonline.com, which may be unreachable.
            instance_discovery=False,
            http_cache=_HTTP_CACHE if shared else http_cache,
        )


def raise_for_result(result: dict | None) -> dict:
    """Turn an MSAL error dict into a typed exception; return the result otherwise."""
    if result is None:
        raise InteractionRequired("no_account", "No signed-in account is available.")
    if "error" in result:
        codes = result.get("error_codes") or []
        cls = (
            InteractionRequired
            if result["error"] in {"interaction_required", "consent_required", "login_required"}
            or INTERACTION_CODES.intersection(codes)
            else IdentityError
        )
        raise cls(result["error"], result.get("error_description", ""), codes)
    return result


def acquire_silent(
    app: msal.ConfidentialClientApplication,
    *,
    scopes: list[str],
    home_account_id: str,
    force_refresh: bool = False,
) -> dict:
    """Silent acquisition for the app's authority: a cached token or a refresh token redemption."""
    account = next(
        (a for a in app.get_accounts() if a.get("home_account_id") == home_account_id), None
    )
    if account is None:
        raise InteractionRequired("no_account", "The session holds no account for this user.")
    try:
        result = app.acquire_token_silent_with_error(
            scopes, account=account, force_refresh=force_refresh
        )
    except (requests.RequestException, MsalServiceError) as exc:
        raise IdentityUnavailable(exc) from exc
    return raise_for_result(result)


def acquire_for_client(app: msal.ConfidentialClientApplication, *, scopes: list[str]) -> dict:
    """App-only token (client credentials) for the app's authority."""
    try:
        result = app.acquire_token_for_client(scopes=scopes)
    except (requests.RequestException, MsalServiceError) as exc:
        raise IdentityUnavailable(exc) from exc
    return raise_for_result(result)


def forget_refusals(http_cache: dict) -> None:
    """Drop MSAL's remembered token-endpoint refusals (it replays an identical HTTP 400 for
    60 s), so the next request really reaches Entra — needed when a retry must get a new token
    sooner than that, e.g. after the partner relationship propagated."""
    for key in [k for k in list(http_cache) if isinstance(k, str) and k.startswith("POST ")]:
        http_cache.pop(key, None)
