"""MSAL wrapper: the confidential client of a partner-managed app, and Entra's errors.

Every MSAL and `requests` exception is turned into an `IdentityError` (a `MicrosoftError`
with a `kind`) in here: MSAL raises `ValueError` for a state mismatch or a 4xx discovery,
`RuntimeError` for an ID token that fails its checks, `MsalServiceError` for a 5xx token
endpoint, and lets `requests` exceptions through.

# Reference: https://learn.microsoft.com/en-us/entra/msal/python/
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msal
import requests
from msal.exceptions import MsalServiceError

from .errors import ErrorKind, MicrosoftError, safe_text
from .http import EndpointRefused

# The caches callers hold (an app's token cache; a session's serializable one) are MSAL's.
TokenCache = msal.TokenCache
SerializableTokenCache = msal.SerializableTokenCache

# Discovery documents are cached per process (MSAL keeps successful GETs for 24 h), so building
# an app per request costs no network round trip after the first.
_HTTP_CACHE: dict = {}
_HTTP_CACHE_LOCK = threading.Lock()

# AADSTS codes that mean "a user must come back through /authorize".
INTERACTION_CODES = {50076, 50079, 50158, 70008, 700082, 50173, 50078, 53003, 530003}
_INTERACTION_ERRORS = {"interaction_required", "login_required"}
# The app (or the scope asked for) has no consent in the tenant: 65001 delegated (with
# `suberror: consent_required`); 7000229 (no service principal) and 700016 (app not found in
# the directory) for client credentials; 90099 (the app is not authorized in the customer
# tenant for the partner's delegated admins). The fix is consent, never waiting or /authorize.
NOT_CONSENTED_CODES = {65001, 7000229, 700016, 90099}
_CONSENT_SUBERRORS = {"consent_required"}
# Entra's `suberror` on an invalid_grant that a user at /authorize can resolve (MFA, a
# changed or expired password, a token that is no longer good): MSAL's UI-required cases.
# Reference: https://learn.microsoft.com/entra/msal/python/advanced/msal-error-handling-python
INTERACTION_SUBERRORS = {
    "basic_action",
    "additional_action",
    "message_only",
    "user_password_expired",
    "bad_token",
}
UNKNOWN_TENANT_CODES = {90002}
_UNAVAILABLE_ERRORS = {"server_error", "temporarily_unavailable"}


def _kind_of(error: str, codes: list[int], suberror: str = "") -> ErrorKind:
    """The kind of Entra's answer, from its `error`, `error_codes` and `suberror`."""
    found = set(codes)
    if error in _UNAVAILABLE_ERRORS:
        return ErrorKind.UNAVAILABLE
    if found & NOT_CONSENTED_CODES or _CONSENT_SUBERRORS & {suberror, error}:
        return ErrorKind.NOT_CONSENTED
    if error in _INTERACTION_ERRORS or suberror in INTERACTION_SUBERRORS:
        return ErrorKind.INTERACTION_REQUIRED
    if found & INTERACTION_CODES:
        return ErrorKind.INTERACTION_REQUIRED
    if found & UNKNOWN_TENANT_CODES:
        return ErrorKind.UNKNOWN_TENANT
    return ErrorKind.TOKEN_REFUSED


class IdentityError(MicrosoftError):
    """A token request or sign-in failed; `str()` is safe to show (no token, no secret)."""

    service = "Microsoft Entra ID"

    def __init__(
        self,
        error: str,
        description: str = "",
        codes: list[int] | None = None,
        *,
        kind: ErrorKind | None = None,
        suberror: str = "",
    ) -> None:
        self.error = error
        self.description = description.split("\r\n")[0].split("\n")[0]
        self.codes = codes or []
        self.suberror = suberror
        super().__init__(
            self.description or error,
            code=error,
            kind=kind or _kind_of(error, self.codes, suberror),
        )

    @property
    def aadsts(self) -> int | None:
        return self.codes[0] if self.codes else None

    def __str__(self) -> str:
        return f"{self.error}: {self.description}" if self.description else self.error

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _restore_identity,
            (type(self), self.error, self.description, self.codes, self.kind, self.suberror),
        )


def _restore_identity(
    cls: type[IdentityError],
    error: str,
    description: str,
    codes: list[int],
    kind: ErrorKind,
    suberror: str = "",
) -> IdentityError:
    copy = IdentityError.__new__(cls)
    IdentityError.__init__(copy, error, description, codes, kind=kind, suberror=suberror)
    return copy


class InteractionRequired(IdentityError):
    """Silent acquisition is impossible: send the agent to the tenant's /authorize."""


class IdentityUnavailable(IdentityError):
    """Entra could not be reached (connection refused, timeout, TLS, 5xx): retry later."""

    def __init__(self, exc: Exception) -> None:
        super().__init__(
            "temporarily_unavailable",
            f"Microsoft's sign-in service could not be reached ({type(exc).__name__}).",
            kind=ErrorKind.TIMEOUT if isinstance(exc, requests.Timeout) else ErrorKind.UNAVAILABLE,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_identity, (IdentityError, self.error, self.description, [], self.kind))


def _refused(exc: EndpointRefused) -> IdentityError:
    return IdentityError("endpoint_refused", str(exc), kind=ErrorKind.ENDPOINT_REFUSED)


@contextlib.contextmanager
def _unreachable_as_identity_errors() -> Iterator[None]:
    try:
        yield
    except EndpointRefused as exc:
        # A redirect or a refused address: the same on every attempt, so never "unavailable".
        raise _refused(exc) from None
    except (requests.RequestException, MsalServiceError) as exc:
        raise IdentityUnavailable(exc) from exc


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


def raise_for_result(result: dict | None) -> dict:
    """Turn an MSAL error dict into a typed exception; return the result otherwise."""
    if result is None:
        raise InteractionRequired("no_account", "No signed-in account is available.")
    if "error" in result:
        codes = result.get("error_codes") or []
        suberror = str(result.get("suberror") or "")
        kind = _kind_of(result["error"], codes, suberror)
        # Not consented is not an interaction: the agent at /authorize cannot consent for the
        # customer, so it is an IdentityError whose kind offers consent as the fix.
        # Reference: https://learn.microsoft.com/entra/msal/python/advanced/msal-error-handling-python
        cls = InteractionRequired if kind == ErrorKind.INTERACTION_REQUIRED else IdentityError
        raise cls(result["error"], result.get("error_description", ""), codes, suberror=suberror)
    return result


class ConfidentialApp:
    """One MSAL confidential client (an app at one tenant's authority); raises IdentityError."""

    def __init__(self, app: msal.ConfidentialClientApplication, http_cache: dict) -> None:
        self._app = app
        self._http_cache = http_cache

    def auth_code_flow_start(
        self, *, scopes: list[str], redirect_uri: str, login_hint: str
    ) -> dict:
        """MSAL's auth code flow (PKCE, state, nonce); the dict holds `auth_uri` and secrets
        that stay server-side."""
        with _unreachable_as_identity_errors():
            return self._app.initiate_auth_code_flow(
                scopes=scopes, redirect_uri=redirect_uri, login_hint=login_hint
            )

    def auth_code_flow_redeem(self, flow: dict, params: dict[str, str]) -> dict:
        """Redeem the code of `flow` (into the app's token cache); the result has the ID
        token's claims in `id_token_claims`."""
        try:
            with _unreachable_as_identity_errors():
                result = self._app.acquire_token_by_auth_code_flow(flow, params)
        except ValueError as exc:
            raise IdentityError(
                "signin_mismatch",
                "The sign-in response does not match the sign-in that was started (state).",
                kind=ErrorKind.SIGNIN_MISMATCH,
            ) from exc
        except RuntimeError as exc:
            raise IdentityError(
                "id_token_rejected",
                "The ID token failed its nonce, audience or issuer check.",
                kind=ErrorKind.ID_TOKEN_REJECTED,
            ) from exc
        return raise_for_result(result)

    def token_silent(
        self, *, scopes: list[str], home_account_id: str, force_refresh: bool = False
    ) -> dict:
        """A cached token for the account, or a refresh token redeemed at this authority."""
        account = next(
            (a for a in self._app.get_accounts() if a.get("home_account_id") == home_account_id),
            None,
        )
        if account is None:
            raise InteractionRequired("no_account", "The session holds no account for this user.")
        with _unreachable_as_identity_errors():
            result = self._app.acquire_token_silent_with_error(
                scopes, account=account, force_refresh=force_refresh
            )
        return raise_for_result(result)

    def token_for_client(self, *, scopes: list[str]) -> dict:
        """App-only token (client credentials) for the app's authority."""
        with _unreachable_as_identity_errors():
            result = self._app.acquire_token_for_client(scopes=scopes)
        return raise_for_result(result)

    def client_tokens_forget(self) -> None:
        """Drop the app-only tokens in its cache and MSAL's remembered token-endpoint
        refusals (it replays an identical HTTP 400 for 60 s), so the next request really
        reaches Entra — needed when a retry must get a new token sooner than that, e.g.
        after the partner relationship propagated. Only for an app with its own http cache."""
        self._app.remove_tokens_for_client()
        for key in [k for k in list(self._http_cache) if isinstance(k, str)]:
            if key.startswith("POST "):
                self._http_cache.pop(key, None)

    def access_tokens_forget(self, *, home_account_id: str) -> None:
        """Drop the account's cached access tokens for this app's tenant (refresh tokens
        stay). MSAL keys access tokens by the scopes Entra granted: after a consent changed
        them, an older token with fewer scopes would still be found first for the same
        request, so the next request must redeem the refresh token anew."""
        cache = self._app.token_cache
        realm = getattr(self._app.authority, "tenant", "")
        for entry in list(
            cache.search(
                TokenCache.CredentialType.ACCESS_TOKEN,
                query={"home_account_id": home_account_id, "client_id": self._app.client_id},
            )
        ):
            if not realm or str(entry.get("realm", "")).lower() == str(realm).lower():
                cache.remove_at(entry)

    def refusals_forget(self) -> None:
        """Drop MSAL's remembered HTTP 400s of this app's token endpoint (its tenant) only,
        keeping its tokens: after a consent the same refresh-token request must reach Entra
        again at once, not be answered from MSAL's 60-second memory of "not consented"."""
        endpoint = getattr(self._app.authority, "token_endpoint", "")
        if not endpoint:
            return
        prefix = f"POST {endpoint}"
        for key in [k for k in list(self._http_cache) if isinstance(k, str)]:
            if key.startswith(prefix) and key.endswith(" 400"):
                self._http_cache.pop(key, None)


def confidential_app(
    creds: AppCredentials,
    *,
    tenant: str,
    session: requests.Session,
    token_cache: msal.TokenCache | None = None,
    http_cache: dict | None = None,
) -> ConfidentialApp:
    """The app with its authority at `tenant` on the credentials' login host.

    `http_cache` defaults to one shared per process (discovery documents); pass your own to
    control MSAL's 60-second memory of an identical HTTP 400 (`client_tokens_forget`)."""
    # The shared cache is written by every request thread; a caller's own cache (per tenant)
    # needs no lock, so building apps for many tenants at once is not serialized.
    shared = http_cache is None
    cache = _HTTP_CACHE if shared else http_cache
    try:
        with (
            _HTTP_CACHE_LOCK if shared else contextlib.nullcontext(),
            _unreachable_as_identity_errors(),
        ):
            app = msal.ConfidentialClientApplication(
                creds.client_id,
                client_credential=creds.client_credential,
                authority=f"{creds.login_host.rstrip('/')}/{tenant}",
                token_cache=token_cache,
                http_client=session,
                # Not every host is one MSAL knows (sovereign clouds, the local simulator);
                # instance discovery would call login.microsoftonline.com, maybe unreachable.
                instance_discovery=False,
                http_cache=cache,
            )
    except ValueError as exc:
        # MSAL raises ValueError when discovery answers 4xx (unknown tenant, bad authority);
        # its text carries the answer's body as-is, which is never shown.
        raise IdentityError(
            "invalid_authority",
            f"{creds.login_host.rstrip('/')} has no OpenID configuration for tenant {tenant}: "
            "check the login host and the tenant id.",
            kind=ErrorKind.UNKNOWN_TENANT,
        ) from exc
    except RuntimeError as exc:
        # MSAL's fallback when discovery fails without an HTTP error status.
        raise IdentityUnavailable(exc) from exc
    return ConfidentialApp(app, cache)


def openid_configuration(
    *, login_host: str, tenant: str, session: requests.Session, timeout: Any
) -> dict:
    """The tenant's v2 OpenID configuration, read afresh (not from MSAL's cache): what a
    setup check needs to tell an unknown tenant from an unreachable host.

    # Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc
    """
    url = f"{login_host.rstrip('/')}/{tenant}/v2.0/.well-known/openid-configuration"
    try:
        # no-cache: not from the discovery documents shared between processes either.
        response = session.get(
            url, timeout=timeout, allow_redirects=False, headers={"Cache-Control": "no-cache"}
        )
    except EndpointRefused as exc:
        raise _refused(exc) from None
    except requests.RequestException as exc:
        raise IdentityError(
            "unreachable", _unreachable_sentence(login_host, exc), kind=ErrorKind.UNAVAILABLE
        ) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    if response.status_code != 200:
        # Entra's own error fields when it sent them; never the raw body (whatever answered
        # may not be Microsoft, and its page is not ours to show).
        description = str(body.get("error_description", "")).split("\r\n")[0].split("\n")[0]
        codes = body.get("error_codes") or []
        error = IdentityError(
            str(body.get("error", "") or f"http_{response.status_code}")[:100],
            safe_text(description)
            or f"{login_host.rstrip('/')} answered HTTP {response.status_code} without an "
            "Entra error; it may not be a Microsoft sign-in service.",
            [int(c) for c in codes if str(c).isdigit()] if isinstance(codes, list) else [],
            kind=ErrorKind.UNKNOWN_TENANT if response.status_code < 500 else ErrorKind.UNAVAILABLE,
        )
        error.status = response.status_code
        raise error
    return body


def _unreachable_sentence(login_host: str, exc: requests.RequestException) -> str:
    host = login_host.rstrip("/")
    if isinstance(exc, requests.exceptions.SSLError):
        return f"The TLS certificate of {host} could not be verified. Check the CA bundle."
    if isinstance(exc, requests.Timeout):
        return f"{host} did not answer in time."
    return f"{host} could not be reached ({type(exc).__name__})."
