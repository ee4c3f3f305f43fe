"""Agent sign-in: MSAL's authorization code flow (PKCE, state, nonce) against the region."""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit

from django.contrib.auth import login, logout
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import sessionclock
from accounts.models import Role, User, role_from_claims
from accounts.sessions import user_session_forget, user_session_track
from audit.services import audit_record
from mscloud.errors import ErrorKind, MicrosoftError
from regions.clients import openid_configuration, session_tokens_forget
from regions.models import Region
from regions.msal_app import SignInTokens, signin_code_redeem, signin_flow_start
from regions.selectors import region_for_username

log = logging.getLogger(__name__)

FLOW_KEY = "_auth_flows"
# Sign-ins in progress per session, by state: a few tabs may each have one.
MAX_PENDING_FLOWS = 5


class SignInError(Exception):
    """A sign-in problem the agent can act on; the message is shown as is (escaped)."""


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """`candidate` if it is a path on this site, else the home page."""
    if (
        candidate
        and candidate.startswith("/")
        and not candidate.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return reverse("home")


def signin_start(*, request: HttpRequest, username: str, next_url: str | None) -> str:
    """Pick the region from the username's domain and return the authorize URL to send to."""
    region = region_for_username(username=username)
    if region is None:
        raise SignInError(
            f"No region signs in accounts of “{username.rpartition('@')[2]}”. Check the "
            "spelling of your username, or ask your portal admin to add this domain to a region."
        )
    if not region.active:
        raise SignInError(
            f"Sign-in for region {region.name} is switched off. Ask your portal admin."
        )
    if region.secret_expired:
        raise SignInError(
            f"The app credential of region {region.name} has expired, so nobody in that region "
            "can sign in. Ask your portal admin to renew its client secret or certificate."
        )
    return _begin(request, region, tenant=None, login_hint=username, next_url=next_url)


def _begin(
    request: HttpRequest,
    region: Region,
    *,
    tenant: str | None,
    login_hint: str,
    next_url: str | None,
) -> str:
    """Start MSAL's auth code flow (PKCE, state, nonce) at `tenant` (default: the partner
    tenant), remember it under its state, and return the authorize URL."""
    try:
        flow = signin_flow_start(
            region=region,
            tenant=tenant,
            redirect_uri=request.build_absolute_uri(reverse("auth_callback")),
            login_hint=login_hint,
        )
    except MicrosoftError as exc:
        log.warning("sign-in discovery failed for region %s: %s", region.slug, exc.kind)
        raise SignInError(
            f"We could not reach Microsoft's sign-in service for region {region.name}. "
            "Try again in a minute; if it keeps failing, tell your portal admin."
        ) from exc
    pending = {"flow": flow, "region": region.pk, "next": safe_next(request, next_url)}
    if tenant:
        pending["tenant"] = tenant
    _remember_flow(request, pending)
    return flow["auth_uri"]


def _remember_flow(request: HttpRequest, pending: dict) -> None:
    flows = dict(request.session.get(FLOW_KEY) or {})
    flows[pending["flow"]["state"]] = pending
    # Oldest first (dicts keep insertion order): forget the oldest beyond the limit.
    request.session[FLOW_KEY] = dict(list(flows.items())[-MAX_PENDING_FLOWS:])


def _take_flow(request: HttpRequest, state: str | None) -> dict | None:
    """The sign-in started here with this state, removed so it cannot be used twice; other
    pending sign-ins (other tabs) are left alone, and an unknown state touches nothing."""
    flows = dict(request.session.get(FLOW_KEY) or {})
    pending = flows.pop(state, None) if state else None
    if pending is not None:
        request.session[FLOW_KEY] = flows
    return pending


def signin_complete(*, request: HttpRequest, params: dict[str, str]) -> tuple[User, str]:
    """Redeem the code, check the ID token's tenant, sign the user in; return (user, next)."""
    pending = _take_flow(request, params.get("state"))
    if not pending:
        raise SignInError(
            "This sign-in response does not belong to a sign-in started here (it expired, was "
            "already used, or came from another browser). Please sign in again."
        )
    if "error" in params:
        description = params.get("error_description", "").split("\r\n")[0].split("\n")[0][:300]
        raise SignInError(f"Microsoft sign-in stopped: {description or params['error']}")
    region = Region.objects.filter(pk=pending["region"], active=True).first()
    if region is None:
        raise SignInError("The region you started signing in to is no longer available.")
    if pending.get("tenant"):
        return _tenant_signin_complete(
            request=request, region=region, pending=pending, params=params
        )

    tokens = _redeem(region, pending, params, refused="Microsoft refused the sign-in")
    claims = tokens.claims
    if str(claims.get("tid", "")).lower() != str(region.partner_tenant_id):
        audit_record(
            action="signin.rejected",
            request=request,
            actor=str(claims.get("preferred_username", "unknown")),
            region=region.slug,
            detail={"reason": "id token tenant is not the region's partner tenant"},
        )
        raise SignInError(
            f"This account does not belong to the {region.name} partner tenant, so it cannot "
            "sign in here."
        )
    user = _upsert_user(region=region, claims=claims)
    login(request, user)  # cycles the session key
    sessionclock.mark_signed_in(request.session)
    # Without a portal role the user only ever sees "no access": keep no token of theirs.
    if user.role != Role.NONE:
        tokens.keep(request.session)
    user_session_track(request=request)
    audit_record(action="signin", request=request, user=user, detail={"role": user.role})
    return user, pending.get("next") or reverse("home")


def tenant_signin_start(
    *, request: HttpRequest, region: Region, tenant_id: str, next_url: str
) -> str:
    """Send a signed-in agent through a customer tenant's /authorize (the seed's flow), when
    the refresh token cannot be redeemed there silently (MFA, conditional access, consent)."""
    return _begin(request, region, tenant=tenant_id, login_hint=request.user.upn, next_url=next_url)


def _tenant_signin_complete(
    *, request: HttpRequest, region: Region, pending: dict, params: dict[str, str]
) -> tuple[User, str]:
    user = request.user
    if not user.is_authenticated or user.region_id != region.pk:
        raise SignInError("Your portal session ended. Please sign in again.")
    tokens = _redeem(
        region,
        pending,
        params,
        refused="Microsoft refused access to this customer",
        session=request.session,
    )
    claims = tokens.claims
    # The same agent must come back: another account's tokens never enter this session.
    if str(claims.get("oid", "")).lower() != str(user.object_id) or str(
        claims.get("tid", "")
    ).lower() not in {pending["tenant"], str(region.partner_tenant_id)}:
        raise SignInError(
            "You signed in with a different account than the one using the portal. "
            "Sign out and sign in again with one account."
        )
    tokens.keep(request.session)
    audit_record(action="signin.customer", request=request, tenant_id=pending["tenant"])
    return user, pending["next"]


# What the agent reads when redeeming the code fails; by kind, the rest is "refused".
_REDEEM_SENTENCES = {
    ErrorKind.SIGNIN_MISMATCH: (
        "The sign-in response did not match the sign-in we started. Please sign in again."
    ),
    ErrorKind.ID_TOKEN_REJECTED: (
        "The sign-in response failed its security checks (its ID token was not issued "
        "for this sign-in). Please sign in again."
    ),
    ErrorKind.UNAVAILABLE: "We could not reach Microsoft's sign-in service. Try again in a minute.",
    ErrorKind.TIMEOUT: "We could not reach Microsoft's sign-in service. Try again in a minute.",
}


def _redeem(
    region: Region,
    pending: dict,
    params: dict[str, str],
    *,
    refused: str,
    session: SessionBase | None = None,
) -> SignInTokens:
    """Redeem the authorization code of a pending flow; SignInError otherwise."""
    try:
        return signin_code_redeem(
            region=region,
            flow=pending["flow"],
            params=params,
            tenant=pending.get("tenant"),
            session=session,
        )
    except MicrosoftError as exc:
        sentence = _REDEEM_SENTENCES.get(exc.kind) or f"{refused}: {exc}"
        raise SignInError(sentence) from exc


@transaction.atomic
def _upsert_user(*, region: Region, claims: dict) -> User:
    role = role_from_claims(claims.get("roles"))
    user, created = User.objects.select_for_update().get_or_create(
        tenant_id=claims["tid"],
        object_id=claims["oid"],
        defaults={"username": f"{claims['tid']}/{claims['oid']}"},
    )
    user.upn = claims.get("preferred_username", "")[:256]
    user.display_name = claims.get("name", "")[:256]
    user.email = user.upn if "@" in user.upn else ""
    user.region = region
    user_role_set(user, role)
    # Only a new user gets its unusable password: setting it again would change the session
    # auth hash (it is derived from the password) and sign the user's other browsers out.
    if created or user.has_usable_password():
        user.set_unusable_password()
    user.save()
    return user


def user_role_set(user: User, role: Role | str) -> None:
    """The portal role from Entra's app roles, and what it implies (not saved)."""
    user.role = role
    # Nobody is a superuser: Django admin grants per-model permissions to staff (admins).
    user.is_superuser = False
    user.is_staff = role in {Role.ADMIN, Role.GLOBAL_ADMIN}


def signout(*, request: HttpRequest, audited: bool = True) -> None:
    """End the request's session: its tokens, its tracked browser, then the session itself."""
    if audited and request.user.is_authenticated:
        audit_record(action="signout", request=request)
    user_session_forget(session_key=request.session.session_key)
    session_tokens_forget(session=request.session)
    logout(request)  # flushes the server-side session and with it the token cache


def signout_microsoft_url(*, region: Region, return_to: str) -> str | None:
    """Where to send the browser so that Entra ends its own session (its SSO cookie) and
    comes back to `return_to`; None when the region's discovery cannot say (the portal's
    session is gone anyway). Entra's v2 logout takes `post_logout_redirect_uri` (registered
    on the app) and, optionally, `logout_hint` — which needs the `login_hint` optional claim
    the portal does not ask for, so Entra may ask which account to sign out.

    # Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#send-a-sign-out-request
    """
    try:
        endpoint = str(openid_configuration(region=region).get("end_session_endpoint") or "")
    except MicrosoftError as exc:
        log.warning("sign-out discovery failed for region %s: %s", region.slug, exc.kind)
        return None
    parts = urlsplit(endpoint)
    # Only the region's own sign-in host: the document must not make us an open redirect.
    own_host = urlsplit(region.login_host).hostname
    if parts.scheme not in ("https", "http") or parts.hostname != own_host:
        log.warning("region %s: end_session_endpoint is not on its login host", region.slug)
        return None
    separator = "&" if parts.query else "?"
    return f"{endpoint}{separator}{urlencode({'post_logout_redirect_uri': return_to})}"
