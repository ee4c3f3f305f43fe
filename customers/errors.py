"""What an agent reads when Microsoft says no: one sentence, what happened and what to do."""

from __future__ import annotations

import math

from customers.models import Customer
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
        "Microsoft would not issue a token for {name}: {reason}. If the customer was just "
        "created or accepted your invitation, wait a few minutes.",
        403,
    ),
}


# AADSTS50020 at a customer: the agent is in no partner security group its relationship assigns.
_NO_GROUP = (
    "Microsoft lets your account into {name}'s tenant only through a partner security group "
    "that its GDAP relationship assigns, and you are in none of them ({reason}). “My access” "
    "shows your groups; ask your admin to add you to one that has access here.",
    403,
)


def explain(exc: MicrosoftError, customer: Customer) -> tuple[str, int]:
    """(message, HTTP status for our page) for a failed Microsoft call."""
    if isinstance(exc, IdentityError) and exc.aadsts == 50020:
        sentence, status = _NO_GROUP
        return sentence.format(name=customer.name, reason=exc.description or exc.error), status
    table = _TOKEN if isinstance(exc, IdentityError) else _GRAPH
    sentence, status = table.get(exc.kind) or table[None]
    return (
        sentence.format(
            name=customer.name,
            wait=math.ceil(exc.retry_after) if exc.retry_after else 30,
            message=exc.message,
            reason=getattr(exc, "description", "") or getattr(exc, "error", ""),
        ),
        status,
    )
