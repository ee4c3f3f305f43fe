"""Partner Center customers: /v1/customers list (continuation paging), get and create.

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

from simulator import gdap
from simulator.partnercenter.service import (
    PartnerCenterError,
    authenticate,
    customer_of,
    error_response,
    lower_keys,
    pc_json,
)

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import Tenant, World

DEFAULT_SIZE = 200
MAX_SIZE = 500
CONTINUATION = "MS-ContinuationToken"
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


def _commerce_id(world: World, tenant_id: str) -> str:
    """Partner Center's billing identifier: its own GUID, never the tenant id.
    Reference: https://learn.microsoft.com/partner-center/developer/customer-resources"""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{world.seed}/commerce/{tenant_id}"))


# Partner Center says whether the partner holds DAP only when a customer is read by id.
# Reference: https://learn.microsoft.com/en-us/partner-center/developer/customer-resources


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
        customer["allowDelegatedAccess"] = tenant.relationship_type in gdap.DAP_TYPES
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
        partner = authenticate(ctx, request).partner
        try:
            size = int(request.args.get("size", DEFAULT_SIZE))
        except ValueError as exc:
            raise PartnerCenterError(400, 400, "The size parameter must be a number.") from exc
        size = max(1, min(size, MAX_SIZE))
        token = request.headers.get(CONTINUATION)
        offset = _offset(ctx, partner.id, token) if token else 0
    except PartnerCenterError as exc:
        return error_response(request, exc)
    customers = ctx.world.customers_of(partner.id)
    page = customers[offset : offset + size]
    # links.self on every page, /v1 included as the documented sample writes it; links.next
    # relative to /v1 (see _continuation).
    # Reference: https://learn.microsoft.com/partner-center/developer/get-a-list-of-customers
    self_link = {"uri": f"/v1/customers?size={size}", "method": "GET", "headers": []}
    body: dict[str, Any] = {
        "totalCount": len(page),
        "items": [_customer(ctx.world, t) for t in page],
        "links": {"self": self_link},
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
    return pc_json(request, body)


def get_customer(ctx: SimContext, request: Request, customer_id: str) -> Response:
    try:
        tenant = customer_of(ctx, authenticate(ctx, request).partner, customer_id)
    except PartnerCenterError as exc:
        return error_response(request, exc)
    return pc_json(request, _customer(ctx.world, tenant, by_id=True))


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
        partner = authenticate(ctx, request).partner
        body = _parse_create(request)
    except PartnerCenterError as exc:
        return error_response(request, exc)
    request_id = request.headers.get("MS-RequestId", "").strip()
    with _CREATED.lock:
        done = _CREATED.for_world(ctx.world)
        if request_id and (partner.id, request_id) in done:
            return pc_json(request, done[(partner.id, request_id)], 201)
        try:
            result = _create(ctx, partner, body)
        except PartnerCenterError as exc:
            return error_response(request, exc)
        if request_id:
            done[(partner.id, request_id)] = result
    return pc_json(request, result, 201)


def _parse_create(request: Request) -> dict[str, Any]:
    try:
        body = lower_keys(json.loads(request.get_data(as_text=True) or "null"))
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
    # The admin's bare user name ("admin"), not a UPN: the sign-in name is it @ the domain.
    # Reference: https://learn.microsoft.com/partner-center/developer/create-a-customer
    customer["userCredentials"] = {"userName": "admin", "password": _password()}
    return customer


def _password() -> str:
    # Entra's generated first passwords: letters and digits, 8+ characters, mixed case.
    upper = secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")
    return f"Sim{secrets.token_hex(4)}{upper}{secrets.randbelow(10)}"


def url_rules() -> list[Rule]:
    return [
        Rule("/partnercenter/v1/customers", endpoint=list_customers, methods=["GET"]),
        Rule("/partnercenter/v1/customers", endpoint=create_customer, methods=["POST"]),
        Rule("/partnercenter/v1/customers/<customer_id>", endpoint=get_customer, methods=["GET"]),
    ]
