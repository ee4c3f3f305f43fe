"""What every Partner Center answer shares: the caller's token, the error shape, the ids.

Reference: https://learn.microsoft.com/partner-center/developer/error-codes (error shape:
code, description, data, source)
Reference: https://learn.microsoft.com/partner-center/developer/partner-center-authentication
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from simulator.responses import JSON_UTF8, json_response
from simulator.tokens import PARTNER_CENTER_AUDIENCES, InvalidToken, verify_access_token

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import Agent, Tenant

SOURCE = "PartnerFD"


class PartnerCenterError(Exception):
    def __init__(
        self, status: int, code: int, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description
        self.headers = headers or {}


def request_ids(request: Request) -> dict[str, str]:
    request_id = request.headers.get("MS-RequestId") or str(uuid.uuid4())
    correlation_id = request.headers.get("MS-CorrelationId") or str(uuid.uuid4())
    return {"MS-RequestId": request_id, "MS-CorrelationId": correlation_id}


def pc_json(
    request: Request, body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Partner Center's JSON: its request and correlation ids on every answer."""
    return json_response(
        body, status, {**request_ids(request), **(headers or {})}, content_type=JSON_UTF8
    )


def error_response(request: Request, exc: PartnerCenterError) -> Response:
    body = {"code": exc.code, "description": exc.description, "data": [], "source": SOURCE}
    return pc_json(request, body, exc.status, exc.headers)


@dataclass
class Caller:
    partner: Tenant  # the partner tenant the token is for
    agent: Agent | None  # App+User tokens: the signed-in agent; app-only: None


def authenticate(ctx: SimContext, request: Request) -> Caller:
    """The partner tenant calling: app-only token of its own app, or one of its agents."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise PartnerCenterError(401, 401, "Authorization header is missing or not a bearer token.")
    try:
        claims = verify_access_token(ctx, raw.strip(), audiences=PARTNER_CENTER_AUDIENCES)
    except InvalidToken as exc:
        raise PartnerCenterError(401, 401, f"Unauthorized: {exc}") from exc
    tenant = ctx.world.find_tenant(str(claims["tid"]))
    if tenant is None:
        raise PartnerCenterError(401, 401, "Unauthorized: unknown tenant.")
    request.environ["sim.tenant"] = tenant.id
    app_id = str(claims.get("appid") or claims.get("azp") or "")
    retry_after = ctx.faults.throttle(app_id, tenant.id, kind="partnercenter")
    if retry_after is not None:
        seconds = str(max(1, int(retry_after + 0.999)))
        raise PartnerCenterError(
            429, 429, "Rate limit is exceeded. Try again later.", {"Retry-After": seconds}
        )
    if tenant.kind != "partner":
        raise PartnerCenterError(403, 403, "The tenant is not a partner tenant.")
    agent = None
    if claims.get("idtyp") == "user":
        agent = ctx.world.agent_by_oid(str(claims.get("oid", "")))
        allowed = agent is not None and agent.tenant_id == tenant.id
    else:
        app = ctx.world.app(app_id)
        allowed = app is not None and app.home_tenant_id == tenant.id
    if not allowed:
        raise PartnerCenterError(403, 403, "The caller is not authorized for this partner.")
    return Caller(tenant, agent)


def lower_keys(value: Any) -> Any:
    """Partner Center's JSON binding is case-insensitive (CompanyProfile == companyProfile)."""
    if isinstance(value, dict):
        return {str(k).lower(): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


CUSTOMER_NOT_FOUND = (404, 600026, "Customer not found.")


def customer_of(ctx: SimContext, partner: Tenant, customer_id: str) -> Tenant:
    """One of the partner's customers; Partner Center's 404 for anyone else's or no one's."""
    tenant = ctx.world.find_tenant(customer_id)
    if tenant is None or tenant.kind != "customer" or tenant.partner_tenant_id != partner.id:
        raise PartnerCenterError(*CUSTOMER_NOT_FOUND)
    return tenant
