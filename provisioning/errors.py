"""Why an attempt failed, in words an agent can act on (stored, shown on the status page)."""

from __future__ import annotations

from mscloud.errors import ErrorKind, MicrosoftError
from mscloud.identity import IdentityError

_GRAPH_SENTENCES = {
    ErrorKind.FORBIDDEN: (
        "Microsoft Graph refused the app (HTTP 403, insufficient privileges): its token "
        "lacks the preconsented permissions, which happens while the partner relationship "
        "is still reaching the customer tenant."
    ),
    ErrorKind.UNAUTHORIZED: "Microsoft Graph did not accept the app's token (HTTP 401).",
    ErrorKind.THROTTLED: "Microsoft Graph was busy or unavailable: {message}",
    ErrorKind.UNAVAILABLE: "Microsoft Graph was busy or unavailable: {message}",
    ErrorKind.TIMEOUT: "Microsoft Graph was busy or unavailable: {message}",
}


def attempt_failure(exc: Exception) -> str:
    """One or two sentences: what Microsoft said and what it means here."""
    if isinstance(exc, IdentityError):
        if exc.kind == ErrorKind.NOT_CONSENTED:
            return (
                f"Microsoft Entra ID does not know the portal's app in this tenant "
                f"(AADSTS{exc.aadsts}): it is not consented there (a customer created today has "
                "no consent until one is given), or a consent just given has not reached the "
                "tenant yet. An admin consents it on the customer's access page (“Consent the "
                "app”); the checks then go on by themselves."
            )
        return f"Microsoft Entra ID would not issue a token: {exc.description or exc.error}."
    if isinstance(exc, MicrosoftError):
        sentence = _GRAPH_SENTENCES.get(exc.kind, "{service} answered with an error: {message}")
        return sentence.format(service=exc.service, message=exc.message)
    return "An unexpected error stopped the attempt; the worker log has the details."


def gave_up(reason: str, attempts: int) -> str:
    return (
        f"{reason} Gave up after {attempts} attempt{'s' if attempts != 1 else ''}. Check that "
        "the customer accepted the relationship and that the portal's app is in the partner "
        "tenant's AdminAgents group, then start the checks again."
    )
