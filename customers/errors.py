"""What an agent reads when Microsoft says no: one sentence, what happened and what to do."""

from __future__ import annotations

import math

from customers.models import Customer
from mscloud import errors as ms
from mscloud.identity import IdentityError, IdentityUnavailable


def explain(exc: Exception, customer: Customer) -> tuple[str, int]:
    """(message, HTTP status for our page) for a failed Microsoft call."""
    name = customer.name
    if isinstance(exc, ms.GraphForbidden):
        return (
            f"Microsoft Graph refused access to {name} (HTTP 403): your partner has no active "
            "admin relationship with this customer, or your GDAP roles do not cover this data. "
            "Check the relationship in Partner Center or ask your admin.",
            403,
        )
    if isinstance(exc, ms.GraphThrottled):
        wait = math.ceil(exc.retry_after) if exc.retry_after else 30
        return (f"Microsoft is throttling requests for {name}; try again in {wait} s.", 429)
    if isinstance(exc, ms.GraphTimeout):
        return ("Microsoft Graph did not answer in time. Try again in a moment.", 504)
    if isinstance(exc, ms.GraphUnavailable):
        return ("Microsoft Graph is unavailable right now. Try again in a moment.", 502)
    if isinstance(exc, ms.GraphUnauthorized):
        return ("Microsoft no longer accepts your sign-in for this customer. Sign in again.", 401)
    if isinstance(exc, ms.GraphNotFound):
        return ("Microsoft Graph has no such object in this tenant.", 404)
    if isinstance(exc, IdentityUnavailable):
        return (
            "Microsoft's sign-in service could not be reached, so no token could be obtained "
            f"for {name}. Try again in a minute.",
            503,
        )
    if isinstance(exc, IdentityError):
        return (
            f"Microsoft would not issue a token for {name}: {exc.description or exc.error}. "
            "If the customer was just created or accepted your invitation, wait a few minutes.",
            403,
        )
    if isinstance(exc, ms.MicrosoftError):
        return (f"Microsoft Graph could not answer: {exc.message}", 502)
    return ("Something went wrong while reading from Microsoft.", 500)
