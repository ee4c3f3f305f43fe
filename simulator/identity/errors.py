"""Entra's answers: AADSTS error bodies, the AadError the endpoints raise, the error builders
shared by several endpoints, and the no-store JSON of a successful answer.

Reference: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from simulator.responses import JSON_UTF8, json_response

if TYPE_CHECKING:
    from simulator.world import Agent, App, Tenant


def aadsts_error(
    error: str,
    code: int,
    message: str,
    *,
    status: int = 400,
    correlation_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """An Entra error body: error, error_description with trace lines, error_codes, ids."""
    body = aadsts_body(error, code, message, correlation_id=correlation_id)
    body.update(extra or {})
    trace_id = body["trace_id"]
    headers = {"x-ms-request-id": trace_id, "Cache-Control": "no-store, no-cache"}
    return json_response(body, status, headers, content_type=JSON_UTF8)


def aadsts_body(
    error: str, code: int, message: str, *, correlation_id: str | None = None
) -> dict[str, Any]:
    now = datetime.now(UTC)
    timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id, correlation_id = str(uuid.uuid4()), correlation_id or str(uuid.uuid4())
    description = (
        f"AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}"
        f"\r\nTimestamp: {timestamp}"
    )
    return {
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


class AadError(Exception):
    """Raised inside the token and authorize logic; turned into an AADSTS response."""

    def __init__(
        self, error: str, code: int, message: str, status: int = 400, suberror: str = ""
    ) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.error, self.code, self.message, self.status = error, code, message, status
        self.suberror = suberror  # e.g. consent_required, basic_action: what the user must do


def consent_required(app: App, tenant: Tenant) -> AadError:
    """AADSTS65001: the app has no consent (no service principal, or not for this scope).

    Reference: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
    (65001 DelegationDoesNotExist) and MSAL's `suberror` values (consent_required)."""
    return AadError(
        "invalid_grant",
        65001,
        f"The user or administrator has not consented to use the application with ID "
        f"'{app.client_id}' named '{app.display_name}'. Send an interactive authorization "
        f"request for this user and resource. Tenant: {tenant.id}.",
        suberror="consent_required",
    )


def tenant_not_found(name: str) -> AadError:
    return AadError(
        "invalid_tenant",
        90002,
        f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant.",
    )


def app_not_found(client_id: str, tenant: Tenant | None) -> AadError:
    where = tenant.id if tenant else "common"
    return AadError(
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{where}'. "
        "This can happen if the application has not been installed by the administrator of the "
        "tenant or consented to by any user in the tenant. You may have sent your "
        "authentication request to the wrong tenant.",
    )


def user_not_in_tenant(agent: Agent, tenant: Tenant, app: App) -> AadError:
    return AadError(
        "invalid_grant",
        50020,
        f"User account '{agent.username}' from identity provider "
        f"'https://sts.windows.net/{agent.tenant_id}/' does not exist in tenant '{tenant.name}' "
        f"and cannot access the application '{app.client_id}'({app.display_name}) in that "
        "tenant. The account needs to be added as an external user in the tenant first. Sign "
        "out and sign in again with a different Azure Active Directory user account.",
    )


def resource_not_supported() -> AadError:
    """AADSTS901002: the v1 `resource=` parameter sent to a v2.0 endpoint (which takes scopes).

    Reference: https://learn.microsoft.com/entra/identity-platform/reference-error-codes"""
    return AadError("invalid_request", 901002, "The 'resource' request parameter is not supported.")


def invalid_scope(scope: str) -> AadError:
    return AadError(
        "invalid_scope",
        70011,
        f"The provided request must include a 'scope' input parameter. The provided value for "
        f"the input parameter 'scope' is not valid. The scope '{scope}' is not valid.",
    )


def entra_json(body: Any) -> Response:
    """A successful token or discovery answer; like Entra's, nothing in between may cache it."""
    return json_response(body, 200, {"Cache-Control": "no-store, no-cache"}, content_type=JSON_UTF8)
