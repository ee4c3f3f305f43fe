"""Does Microsoft still accept this session? The partner tenant decides, silently.

The session's refresh token is redeemed at the region's partner tenant: at least every
`SESSION_RECHECK_SECONDS` (re-reading the `roles` claim of the new ID token), and whenever a
customer tenant refused it in a way that may mean the grant itself is dead. Entra's answer is
the last word: a dead grant ends the portal session; Microsoft being unreachable does not.

# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens#token-revocation
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from django.http import HttpRequest

from accounts.models import Role, role_from_claims
from mscloud.errors import MicrosoftError
from mscloud.identity import IdentityError
from regions.msal_app import signin_refresh

log = logging.getLogger(__name__)

# AADSTS codes of a refresh token that no tenant will redeem again: the user must sign in.
#  50173 FreshTokenNeeded: the grant was revoked (password change or reset, an admin's or the
#        user's revocation: revokeSignInSessions).
#  70008 ExpiredOrRevokedGrant: the refresh token expired for inactivity or was revoked.
#  700082 ExpiredOrRevokedGrantInactiveToken: expired for inactivity (90 days).
#  50133 SessionInvalidDueToPasswordChange; 50132 SsoArtifactInvalidOrExpired (the session
#        is invalid after a password change or expiry).
#  70043 BadTokenDueToSignInFrequency: expired by a Conditional Access sign-in frequency.
#  50057 UserDisabled; 50034 UserAccountNotFound (at the user's own tenant: the account is gone).
GRANT_DEAD_CODES = frozenset({50173, 70008, 700082, 50133, 50132, 70043, 50057, 50034})


class Verdict(StrEnum):
    LIVE = "live"  # Entra redeemed the grant: `claims` are the new ID token's
    ENDED = "ended"  # Entra refused the grant for good: end the session
    UNAVAILABLE = "unavailable"  # Entra did not answer (timeout, 5xx): try again later
    NO_TOKENS = "no_tokens"  # the session holds no account (no portal role: nothing to check)


@dataclass(frozen=True)
class Recheck:
    verdict: Verdict
    claims: dict
    reason: str = ""


def grant_may_be_dead(exc: MicrosoftError) -> bool:
    """Whether a refusal (at any tenant) may mean the session's grant itself is dead; only
    the partner tenant's answer (`session_recheck`) says so for sure. A customer-only refusal
    (MFA 50076, consent 65001, no group 50020) is not: its fix lies in that tenant."""
    return isinstance(exc, IdentityError) and bool(GRANT_DEAD_CODES.intersection(exc.codes))


def session_recheck(*, request: HttpRequest) -> Recheck:
    """Redeem the session's refresh token at the user's partner tenant and say what Entra
    thinks of the session now."""
    user = request.user
    region = user.region
    if region is None or not region.active:
        return Recheck(Verdict.ENDED, {}, reason="region_unavailable")
    try:
        claims = signin_refresh(region=region, session=request.session)
    except IdentityError as exc:
        if exc.error == "no_account":
            return Recheck(Verdict.NO_TOKENS, {})
        if exc.transient:
            log.info("session re-check for %s: Entra unavailable (%s)", region.slug, exc.kind)
            return Recheck(Verdict.UNAVAILABLE, {})
        if exc.error == "invalid_grant" or GRANT_DEAD_CODES.intersection(exc.codes):
            return Recheck(Verdict.ENDED, {}, reason=f"AADSTS{exc.aadsts or ''} {exc.error}")
        # Anything else (MFA now required at the partner, a misconfigured app) is not a verdict
        # on the grant: the session stays, its customer pages say what Microsoft wants.
        log.info("session re-check for region %s refused: %s", region.slug, exc.kind)
        return Recheck(Verdict.UNAVAILABLE, {})
    if str(claims.get("oid", "")).lower() != str(user.object_id) or str(
        claims.get("tid", "")
    ).lower() != str(region.partner_tenant_id):
        return Recheck(Verdict.ENDED, claims, reason="account_changed")
    return Recheck(Verdict.LIVE, claims)


def role_of(recheck: Recheck) -> Role:
    """The portal role the re-check's ID token gives."""
    return role_from_claims(recheck.claims.get("roles"))
