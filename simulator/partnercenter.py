"""Partner Center REST: /v1/customers list (continuation paging), get and create.

Reference: https://learn.microsoft.com/partner-center/developer/get-a-list-of-customers
Reference: https://learn.microsoft.com/partner-center/developer/create-a-customer
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import uuid
import weakref
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from simulator.responses import JSON_UTF8, json_response
from simulator.tokens import PARTNER_CENTER_AUDIENCES, InvalidToken, verify_access_token

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import Tenant, World

DEFAULT_SIZE = 200
MAX_SIZE = 500
CONTINUATION = "MS-ContinuationToken"
SOURCE = "PartnerFD"
ONMICROSOFT = ".onmicrosoft.com"
# Fields a create request must carry (Partner Center answers 400 naming the first missing).
REQUIRED = (
    ("companyProfile", "domain"),
    ("billingProfile", "email"),
    ("billingProfile", "culture"),
    ("billingProfile", "language"),
    ("billingProfile", "companyName"),
    ("billingProfile", "defaultAddress", "firstName"),
    ("billingProfile", "defaultAddress", "lastName"),
    ("billingProfile", "defaultAddress", "addressLine1"),
    ("billingProfile", "defaultAddress", "city"),
    ("billingProfile", "defaultAddress", "postalCode"),
    ("billingProfile", "defaultAddress", "country"),
)


class PartnerCenterError(Exception):
    def __init__(
        self, status: int, code: int, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description
        self.headers = headers or {}


def _ids(request: Request) -> dict[str, str]:
    request_id = request.headers.get("MS-RequestId") or str(uuid.uuid4())
    correlation_id = request.headers.get("MS-CorrelationId") or str(uuid.uuid4())
    return {"MS-RequestId": request_id, "MS-CorrelationId": correlation_id}


def _pc_json(
    request: Request, body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Partner Center's JSON: its request and correlation ids on every answer."""
    return json_response(body, status, {**_ids(request), **(headers or {})}, content_type=JSON_UTF8)


def _error(request: Request, exc: PartnerCenterError) -> Response:
    body = {"code": exc.code, "description": exc.description, "data": [], "source": SOURCE}
    return _pc_json(request, body, exc.status, exc.headers)


def _partner(ctx: SimContext, request: Request) -> Tenant:
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
    request.environ["sim.pc_claims"] = claims
    app_id = str(claims.get("appid") or claims.get("azp") or "")
    retry_after = ctx.faults.throttle(app_id, tenant.id, kind="partnercenter")
    if retry_after is not None:
        seconds = str(max(1, int(retry_after + 0.999)))
        raise PartnerCenterError(
            429, 429, "Rate limit is exceeded. Try again later.", {"Retry-After": seconds}
        )
    if tenant.kind != "partner":
        raise PartnerCenterError(403, 403, "The tenant is not a partner tenant.")
    if claims.get("idtyp") == "user":
        agent = ctx.world.agent_by_oid(str(claims.get("oid", "")))
        allowed = agent is not None and agent.tenant_id == tenant.id
    else:
        app = ctx.world.app(app_id)
        allowed = app is not None and app.home_tenant_id == tenant.id
    if not allowed:
        raise PartnerCenterError(403, 403, "The caller is not authorized for this partner.")
    return tenant


def _commerce_id(world: World, tenant_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{world.seed}/commerce/{tenant_id}"))


# Partner Center says whether the partner holds DAP only when a customer is read by id.
# Reference: https://learn.microsoft.com/en-us/partner-center/developer/customer-resources
DAP_TYPES = ("dap", "gdap+dap")


def _customer(world: World, tenant: Tenant, *, by_id: bool = False) -> dict[str, Any]:
    customer: dict[str, Any] = {
        "id": tenant.id,
        "commerceId": _commerce_id(world, tenant.id),
        "companyProfile": {
            "tenantId": tenant.id,
            "domain": tenant.domain,
            "companyName": tenant.name,
            "attributes": {"objectType": "CustomerCompanyProfile"},
        },
        "relationshipToPartner": "reseller",
        "links": {"self": {"uri": f"/customers/{tenant.id}", "method": "GET", "headers": []}},
        "attributes": {"objectType": "Customer"},
    }
    if by_id:
        customer["allowDelegatedAccess"] = tenant.relationship_type in DAP_TYPES
    return customer


def _token_key(ctx: SimContext) -> bytes:
    return hashlib.sha256(f"pc-continuation/{ctx.world.seed}".encode()).digest()


def _continuation(ctx: SimContext, partner_id: str, offset: int) -> str:
    body = offset.to_bytes(6, "big")
    mac = hmac.new(_token_key(ctx), partner_id.encode() + body, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")


def _offset(ctx: SimContext, partner_id: str, token: str) -> int:
    invalid = PartnerCenterError(400, 400, "The continuation token is invalid or has expired.")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as exc:
        raise invalid from exc
    if len(raw) != 18:
        raise invalid
    body, mac = raw[:6], raw[6:]
    expected = hmac.new(_token_key(ctx), partner_id.encode() + body, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected[:12]):
        raise invalid
    return int.from_bytes(body, "big")


def list_customers(ctx: SimContext, request: Request) -> Response:
    try:
        partner = _partner(ctx, request)
        try:
            size = int(request.args.get("size", DEFAULT_SIZE))
        except ValueError as exc:
            raise PartnerCenterError(400, 400, "The size parameter must be a number.") from exc
        size = max(1, min(size, MAX_SIZE))
        token = request.headers.get(CONTINUATION)
        offset = _offset(ctx, partner.id, token) if token else 0
    except PartnerCenterError as exc:
        return _error(request, exc)
    customers = ctx.world.customers_of(partner.id)
    page = customers[offset : offset + size]
    body: dict[str, Any] = {
        "totalCount": len(page),
        "items": [_customer(ctx.world, t) for t in page],
        "links": {},
        "attributes": {"objectType": "Collection"},
    }
    if offset + size < len(customers):
        body["links"]["next"] = {
            # Relative to /v1, as Partner Center writes it.
            "uri": f"/customers?size={size}&seekOperation=Next",
            "method": "GET",
            "headers": [
                {"key": CONTINUATION, "value": _continuation(ctx, partner.id, offset + size)}
            ],
        }
    return _pc_json(request, body)


def get_customer(ctx: SimContext, request: Request, customer_id: str) -> Response:
    try:
        partner = _partner(ctx, request)
    except PartnerCenterError as exc:
        return _error(request, exc)
    tenant = ctx.world.find_tenant(customer_id)
    if tenant is None or tenant.partner_tenant_id != partner.id:
        body = {"code": 600026, "description": "Customer not found.", "data": [], "source": SOURCE}
        return _pc_json(request, body, 404)
    return _pc_json(request, _customer(ctx.world, tenant, by_id=True))


def _lower_keys(value: Any) -> Any:
    # Partner Center's JSON binding is case-insensitive (CompanyProfile == companyProfile).
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def _field(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = body
    for part in path:
        value = value.get(part.lower()) if isinstance(value, dict) else None
    return value


class _Created:
    """Responses already given per (partner, MS-RequestId); reset with the world."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._world: weakref.ref[Any] | None = None
        self._done: dict[tuple[str, str], dict[str, Any]] = {}

    def for_world(self, world: World) -> dict[tuple[str, str], dict[str, Any]]:
        if self._world is None or self._world() is not world:
            self._world = weakref.ref(world)
            self._done = {}
        return self._done


_CREATED = _Created()


def create_customer(ctx: SimContext, request: Request) -> Response:
    try:
        partner = _partner(ctx, request)
        body = _parse_create(request)
    except PartnerCenterError as exc:
        return _error(request, exc)
    request_id = request.headers.get("MS-RequestId", "").strip()
    with _CREATED.lock:
        done = _CREATED.for_world(ctx.world)
        if request_id and (partner.id, request_id) in done:
            return _pc_json(request, done[(partner.id, request_id)], 201)
        try:
            result = _create(ctx, partner, body)
        except PartnerCenterError as exc:
            return _error(request, exc)
        if request_id:
            done[(partner.id, request_id)] = result
    return _pc_json(request, result, 201)


def _parse_create(request: Request) -> dict[str, Any]:
    try:
        body = _lower_keys(json.loads(request.get_data(as_text=True) or "null"))
    except ValueError as exc:
        raise PartnerCenterError(400, 400, "The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise PartnerCenterError(400, 400, "The request body must be a customer object.")
    for path in REQUIRED:
        value = _field(body, path)
        if not isinstance(value, str) or not value.strip():
            name = ".".join(p[0].upper() + p[1:] for p in path)
            raise PartnerCenterError(400, 2000, f"{name} is required.")
    domain = str(_field(body, ("companyProfile", "domain"))).strip().lower()
    if not domain.endswith(ONMICROSOFT):
        # Microsoft's own sample sends prefix + ".onmicrosoft.com"; a bare prefix is refused
        # like any other invalid field (the exact code and wording are unconfirmed).
        raise PartnerCenterError(
            400,
            2000,
            "CompanyProfile.Domain must be a full domain name ending in .onmicrosoft.com, "
            "for example contoso.onmicrosoft.com.",
        )
    prefix = domain.removesuffix(ONMICROSOFT)
    if not prefix.isalnum() or not 2 <= len(prefix) <= 27 or not prefix.isascii():
        raise PartnerCenterError(
            400,
            2000,
            "CompanyProfile.Domain must be 2 to 27 letters or digits (the part before "
            ".onmicrosoft.com).",
        )
    body["_prefix"] = prefix
    return body


def _create(ctx: SimContext, partner: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    billing = body["billingprofile"]
    address = billing["defaultaddress"]
    try:
        tenant = ctx.world.create_customer(
            partner_tenant_id=partner.id,
            domain_prefix=body["_prefix"],
            company_name=billing["companyname"].strip(),
            country=address["country"].strip().upper(),
            now=ctx.now(),
        )
    except ValueError as exc:
        raise PartnerCenterError(409, 1001, "Domain already exists") from exc
    customer = _customer(ctx.world, tenant)
    customer["billingProfile"] = {
        "id": str(uuid.uuid4()),
        "firstName": address["firstname"],
        "lastName": address["lastname"],
        "email": billing["email"],
        "culture": billing["culture"],
        "language": billing["language"],
        "companyName": billing["companyname"],
        "defaultAddress": {
            "country": address.get("country"),
            "city": address.get("city"),
            "state": address.get("state"),
            "addressLine1": address.get("addressline1"),
            "postalCode": address.get("postalcode"),
            "firstName": address.get("firstname"),
            "lastName": address.get("lastname"),
            "phoneNumber": address.get("phonenumber"),
        },
        "attributes": {"objectType": "CustomerBillingProfile"},
    }
    customer["userCredentials"] = {
        "userName": f"admin@{tenant.domain}",
        "password": _password(),
        "attributes": {"objectType": "UserCredentials"},
    }
    return customer


def _password() -> str:
    # Entra's generated first passwords: letters and digits, 8+ characters, mixed case.
    upper = secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")
    return f"Sim{secrets.token_hex(4)}{upper}{secrets.randbelow(10)}"


# ----- application consent (the Control Panel Vendor API) --------------------------------
# Reference: https://learn.microsoft.com/partner-center/developer/control-panel-vendor-apis
# Reference: https://learn.microsoft.com/graph/auth-cloudsolutionprovider (consent per customer)
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


def _consent_caller(ctx: SimContext, request: Request, customer_id: str) -> tuple[Tenant, Tenant]:
    """(partner, customer) for an application-consent call: an App+User token of an agent in
    the partner's AdminAgents, and a customer of that partner with an active relationship."""
    from simulator import access  # the GDAP rules, shared with token issuance and Graph

    partner = _partner(ctx, request)
    claims = request.environ["sim.pc_claims"]
    agent = ctx.world.agent_by_oid(str(claims.get("oid", "")))
    if claims.get("idtyp") != "user" or agent is None:
        raise PartnerCenterError(
            403,
            900101,
            "Application consent needs an App+User token: app-only authentication is not "
            "supported for this operation.",
        )
    if not access.in_admin_agents(agent):
        raise PartnerCenterError(
            403, 900101, "The user is not authorized: it must be an admin agent of the partner."
        )
    tenant = ctx.world.find_tenant(customer_id)
    if tenant is None or tenant.partner_tenant_id != partner.id:
        raise PartnerCenterError(404, 600026, "Customer not found.")
    if tenant.relationship_status != "active":
        raise PartnerCenterError(
            403, 900102, "The partner has no active admin relationship with the customer."
        )
    return partner, tenant


def _consent_body(ctx: SimContext, tenant: Tenant) -> dict[str, Any]:
    region = ctx.world.region_of_tenant(tenant.id)
    app_id = region.app.client_id if region else ""
    return {
        "applicationId": app_id,
        "applicationGrants": [
            {
                "enterpriseApplicationId": GRAPH_APP_ID,
                "scope": ",".join(tenant.app_consent.scopes),
            }
        ],
        "attributes": {"objectType": "ApplicationConsent"},
    }


def create_application_consent(ctx: SimContext, request: Request, customer_id: str) -> Response:
    """POST …/applicationconsents: the app's service principal and delegated grants in the
    customer; effective once propagated (like a relationship). 409 if it already exists."""
    from simulator import gdap
    from simulator.identity.scopes import DELEGATED
    from simulator.tokens import GRAPH_AUDIENCE

    try:
        partner, tenant = _consent_caller(ctx, request, customer_id)
        try:
            body = _lower_keys(json.loads(request.get_data(as_text=True) or "{}"))
            app_id = str(body["applicationid"]).lower()
            grants = body["applicationgrants"]
            if not isinstance(grants, list) or not grants:
                raise ValueError
        except (ValueError, KeyError, TypeError) as exc:
            raise PartnerCenterError(
                400, 2000, "applicationId and applicationGrants are required."
            ) from exc
        region = ctx.world.region_of_tenant(partner.id)
        if region is None or app_id != region.app.client_id.lower():
            raise PartnerCenterError(
                400, 2000, f"Application {app_id} is not a multi-tenant app of the partner."
            )
        scopes: list[str] = []
        for grant in grants:
            resource = str((grant or {}).get("enterpriseapplicationid", "")).lower()
            if resource != GRAPH_APP_ID:
                raise PartnerCenterError(
                    400, 2000, f"Unsupported enterpriseApplicationId {resource or '(none)'}."
                )
            for scope in str(grant.get("scope", "")).split(","):
                name = scope.strip()
                if not name:
                    continue
                if name not in DELEGATED[GRAPH_AUDIENCE]:
                    raise PartnerCenterError(400, 2000, f"Invalid scope {name}.")
                if name not in scopes:
                    scopes.append(name)
        if not scopes:
            raise PartnerCenterError(400, 2000, "applicationGrants name no scope.")
        if tenant.app_consent.consented:
            raise PartnerCenterError(
                409, 2004, "Permission entry already exists: the application is consented."
            )
    except PartnerCenterError as exc:
        return _error(request, exc)
    now = ctx.now()
    tenant.app_consent = gdap.AppConsent(
        True,
        scopes,
        [],
        effective_at=now + ctx.world.propagation_delay_for(tenant.id),
    )
    return _pc_json(request, _consent_body(ctx, tenant), 201)


def list_application_consents(ctx: SimContext, request: Request, customer_id: str) -> Response:
    try:
        _, tenant = _consent_caller(ctx, request, customer_id)
    except PartnerCenterError as exc:
        return _error(request, exc)
    items = [_consent_body(ctx, tenant)] if tenant.app_consent.consented else []
    return _pc_json(
        request,
        {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}},
    )


def delete_application_consent(
    ctx: SimContext, request: Request, customer_id: str, app_id: str
) -> Response:
    """DELETE …/applicationconsents/{appId}: 204, the service principal and its grants gone."""
    from simulator import gdap

    try:
        partner, tenant = _consent_caller(ctx, request, customer_id)
        region = ctx.world.region_of_tenant(partner.id)
        mine = region is not None and app_id.lower() == region.app.client_id.lower()
        if not mine or not tenant.app_consent.consented:
            raise PartnerCenterError(404, 600039, "Application consent not found.")
    except PartnerCenterError as exc:
        return _error(request, exc)
    tenant.app_consent = gdap.AppConsent(False)
    return Response(status=204, headers=_ids(request))


def url_rules() -> list[Rule]:
    consents = "/partnercenter/v1/customers/<customer_id>/applicationconsents"
    return [
        Rule(consents, endpoint=create_application_consent, methods=["POST"]),
        Rule(consents, endpoint=list_application_consents, methods=["GET"]),
        Rule(f"{consents}/<app_id>", endpoint=delete_application_consent, methods=["DELETE"]),
        Rule("/partnercenter/v1/customers", endpoint=list_customers, methods=["GET"]),
        Rule("/partnercenter/v1/customers", endpoint=create_customer, methods=["POST"]),
        Rule("/partnercenter/v1/customers/<customer_id>", endpoint=get_customer, methods=["GET"]),
    ]
