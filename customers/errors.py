"""What an agent reads when Microsoft says no: one sentence, what happened and what to do."""

from __future__ import annotations

import math

from customers.models import Customer, RelationshipStatus
from mscloud.errors import ErrorKind, MicrosoftError
from mscloud.identity import IdentityError

# (sentence, HTTP status of our page) by kind; {name} is the customer, {wait} seconds to wait,
# {message} Microsoft's words, {reason} Entra's description of a refused token.
_GRAPH: dict[ErrorKind | None, tuple[str, int]] = {
    ErrorKind.FORBIDDEN: (
        "Microsoft Graph refused access to {name} (HTTP 403): your partner has no active "
        "admin relationship with this customer, or your GDAP roles do not cover this data. "
        "Check the relationship in Partner Center or ask your admin.",
        403,
    ),
    ErrorKind.THROTTLED: (
        "Microsoft is throttling requests for {name}; try again in {wait} s.",
        429,
    ),
    ErrorKind.TIMEOUT: ("Microsoft Graph did not answer in time. Try again in a moment.", 504),
    ErrorKind.UNAVAILABLE: (
        "Microsoft Graph is unavailable right now. Try again in a moment.",
        502,
    ),
    ErrorKind.UNAUTHORIZED: (
        "Microsoft no longer accepts your sign-in for this customer. Sign in again.",
        401,
    ),
    ErrorKind.NOT_FOUND: ("Microsoft Graph has no such object in this tenant.", 404),
    None: ("Microsoft Graph could not answer: {message}", 502),
}
_UNREACHABLE = (
    "Microsoft's sign-in service could not be reached, so no token could be obtained "
    "for {name}. Try again in a minute.",
    503,
)
_TOKEN: dict[ErrorKind | None, tuple[str, int]] = {
    ErrorKind.UNAVAILABLE: _UNREACHABLE,
    ErrorKind.TIMEOUT: _UNREACHABLE,
    ErrorKind.NOT_CONSENTED: (
        "The portal's app is not consented in {name}'s tenant ({reason}), so Microsoft issues "
        "no token for it there. An admin of your region consents it on this customer's "
        "“My access” page (Consent the app); waiting does not help.",
        403,
    ),
    None: (
        "Microsoft would not issue a token for {name}: {reason}. Check the admin relationship "
        "and the app's consent on this customer's “My access” page.",
        403,
    ),
}
# The last sync read the customer's admin relationship as expired: every refusal is that, and
# waiting never fixes it (a customer still propagating is "pending", not "expired").
_EXPIRED = (
    "Your partner's admin relationship with {name} has expired, so Microsoft gives you no "
    "access to this tenant. Request a new GDAP relationship in Partner Center and ask the "
    "customer's admin to approve it; after the next sync the portal uses it.",
    403,
)
# A customer just created or that just accepted the invitation: its relationship reaches the
# tenant within minutes (DESIGN.md, "Right after a customer is created").
_PENDING_SENTENCE = (
    "Microsoft would not issue a token for {name} yet: {reason}. Its admin relationship is "
    "still reaching the tenant, which takes up to a few minutes after the customer was "
    "created or accepted your invitation; the portal tries again on its own."
)
_TRANSIENT = frozenset(
    (ErrorKind.THROTTLED, ErrorKind.TIMEOUT, ErrorKind.UNAVAILABLE, ErrorKind.UNAUTHORIZED)
)


# AADSTS50020 at a customer: the agent is in no partner security group its relationship assigns.
_NO_GROUP = (
    "Microsoft lets your account into {name}'s tenant only through a partner security group "
    "that its GDAP relationship assigns, and you are in none of them ({reason}). “My access” "
    "shows your groups; ask your admin to add you to one that has access here.",
    403,
)


def explain(exc: MicrosoftError, customer: Customer) -> tuple[str, int]:
    """(message, HTTP status for our page) for a failed Microsoft call."""
    if customer.relationship_status == RelationshipStatus.EXPIRED and exc.kind not in _TRANSIENT:
        sentence, status = _EXPIRED
        return sentence.format(name=customer.name), status
    if isinstance(exc, IdentityError) and exc.aadsts == 50020:
        sentence, status = _NO_GROUP
        return sentence.format(name=customer.name, reason=exc.description or exc.error), status
    table = _TOKEN if isinstance(exc, IdentityError) else _GRAPH
    sentence, status = table.get(exc.kind) or table[None]
    pending = customer.relationship_status == RelationshipStatus.PENDING
    if table is _TOKEN and exc.kind not in _TOKEN and pending:
        sentence = _PENDING_SENTENCE
    return (
        sentence.format(
            name=customer.name,
            wait=math.ceil(exc.retry_after) if exc.retry_after else 30,
            message=exc.message,
            reason=getattr(exc, "description", "") or getattr(exc, "error", ""),
        ),
        status,
    )
