"""Partner Center application consent, the Control Panel Vendor API:

- POST /v1/customers/{customerTenantId}/applicationconsents
  {"applicationId", "applicationGrants": [{"enterpriseApplicationId", "scope": "A,B"}],
  "displayName"?}: 201 with the consent. The app's service principal and its delegated grants
  exist in the customer once the consent has propagated (the world's propagation delay, like a
  new relationship); until then token requests there fail as before (700016, 65001).
- GET …/applicationconsents: {"totalCount", "items", "attributes"}.
- DELETE …/applicationconsents/{applicationId}: 204; the service principal is gone (its app
  roles with it).

Who may: an App+User token (`user_impersonation`) of an agent in the partner's AdminAgents who
also holds Global Administrator, Privileged Role Administrator or Cloud Application
Administrator in the customer through a GDAP group (simulator/access.py `may_consent`);
app-only tokens never. The app must be the partner's own multi-tenant app, the grants
Microsoft Graph's delegated permissions.

# Reference: https://learn.microsoft.com/partner-center/developer/control-panel-vendor-apis
# Reference: https://learn.microsoft.com/powershell/partnercenter/exchange-online-gdap-app
#   (prerequisites: AdminAgents member, GDAP group with Global/Privileged Role/Cloud App admin)
# Reference: https://learn.microsoft.com/answers/questions/1006761/partner-centre-api
#   (app-only on an App+User-only operation: 403 "This resource can't be accessed by
#   application credentials.")
# Reference: https://github.com/KelvinTegelaar/CIPP-API (Set-CIPPCPVConsent.ps1: a second
#   consent fails with "Permission entry already exists"; CIPP deletes and re-creates)

Unconfirmed, and so chosen strictly: the numeric `code` of these errors (the HTTP status is
used), the status of the "already exists" answer (409 here), the wording of the 400s and of
the 404 for a missing consent, and grants for resources other than Microsoft Graph (refused).
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from simulator import access, gdap
from simulator.graph import permissions
from simulator.partnercenter.service import (
    PartnerCenterError,
    authenticate,
    customer_of,
    error_response,
    lower_keys,
    pc_json,
    request_ids,
)

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import Agent, App, Tenant, World

APP_ONLY = "This resource can't be accessed by application credentials."
NOT_AUTHORIZED = "The supplied role does not have the rights to perform the requested operation."
ALREADY_EXISTS = "Permission entry already exists."
CONSENT_NOT_FOUND = "Application consent not found."
INVALID = 2000  # Partner Center's code for an invalid request field (as customers use it)


def _consenter(ctx: SimContext, request: Request, customer_id: str) -> tuple[Agent, Tenant]:
    """(agent, customer) of an application-consent call, or Partner Center's refusal."""
    caller = authenticate(ctx, request)
    if caller.agent is None:
        raise PartnerCenterError(403, 403, APP_ONLY)
    tenant = customer_of(ctx, caller.partner, customer_id)
    # Not in AdminAgents, no GDAP role for consent there, or no active relationship at all.
    if not access.may_consent(ctx.world, caller.agent, tenant, ctx.now()):
        raise PartnerCenterError(403, 403, NOT_AUTHORIZED)
    return caller.agent, tenant


def _partner_app(world: World, tenant: Tenant) -> App:
    region = world.region_of_tenant(tenant.id)
    assert region is not None  # customers belong to a region
    return region.app


def consent_item(world: World, tenant: Tenant) -> dict[str, Any]:
    """The consent as Partner Center shows it."""
    app = _partner_app(world, tenant)
    consent = tenant.app_consent
    return {
        "applicationId": app.client_id,
        "displayName": consent.display_name or app.display_name,
        "applicationGrants": [
            {
                "enterpriseApplicationId": permissions.RESOURCE_APP_ID,
                "scope": ",".join(consent.scopes),
            }
        ],
        "attributes": {"objectType": "ApplicationConsent"},
    }


def _invalid(description: str) -> PartnerCenterError:
    return PartnerCenterError(400, INVALID, description)


def _parse(request: Request) -> dict[str, Any]:
    try:
        body = lower_keys(json.loads(request.get_data(as_text=True) or "null"))
    except ValueError as exc:
        raise PartnerCenterError(400, 400, "The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise PartnerCenterError(400, 400, "The request body must be an application consent.")
    return body


def _application(world: World, partner_id: str, value: Any) -> App:
    """The app to consent: the partner's own multi-tenant app, nothing else."""
    if not isinstance(value, str) or not value.strip():
        raise _invalid("ApplicationId is required.")
    app = world.app(value.strip())
    if app is None or app.home_tenant_id != partner_id:
        raise _invalid(f"ApplicationId {value.strip()} is not an application of this partner.")
    if not app.multi_tenant:
        raise _invalid(
            f"ApplicationId {app.client_id} is not a multi-tenant application; only a "
            "multi-tenant app can be consented in a customer's tenant."
        )
    return app


def _scopes(grants: Any) -> list[str]:
    """Graph's delegated permissions the grants name (Graph's spelling, each once)."""
    if not isinstance(grants, list) or not grants:
        raise _invalid("ApplicationGrants is required.")
    scopes: list[str] = []
    for grant in grants:
        if not isinstance(grant, dict):
            raise _invalid("Each application grant must be an object.")
        resource = str(grant.get("enterpriseapplicationid") or "").strip().lower()
        if resource != permissions.RESOURCE_APP_ID:
            raise _invalid(
                f"EnterpriseApplicationId {resource or '(missing)'} is not supported: the "
                f"simulator grants Microsoft Graph ({permissions.RESOURCE_APP_ID}) only."
            )
        for name in str(grant.get("scope") or "").split(","):
            if not name.strip():
                continue
            known = permissions.delegated_scope(name)
            if known is None:
                raise _invalid(
                    f"Scope {name.strip()} is not a delegated permission of Microsoft Graph."
                )
            if known not in scopes:
                scopes.append(known)
    if not scopes:
        raise _invalid("The application grants name no scope.")
    return scopes


class _Replays:
    """Answers given per (customer, MS-RequestId), so a resent POST gets the same answer
    (Partner Center's idempotency); forgotten when /_sim/reset builds a new world."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._world: weakref.ref[Any] | None = None
        self._done: dict[tuple[str, str], dict[str, Any]] = {}

    def for_world(self, world: World) -> dict[tuple[str, str], dict[str, Any]]:
        if self._world is None or self._world() is not world:
            self._world = weakref.ref(world)
            self._done = {}
        return self._done


_REPLAYS = _Replays()


def create_application_consent(ctx: SimContext, request: Request, customer_id: str) -> Response:
    request_id = request.headers.get("MS-RequestId", "").strip()
    with _REPLAYS.lock:
        try:
            _, tenant = _consenter(ctx, request, customer_id)
            done = _REPLAYS.for_world(ctx.world)
            if request_id and (tenant.id, request_id) in done:
                return pc_json(request, done[(tenant.id, request_id)], 201)
            body = _parse(request)
            app = _application(ctx.world, str(tenant.partner_tenant_id), body.get("applicationid"))
            scopes = _scopes(body.get("applicationgrants"))
            if tenant.app_consent.consented:
                # Partner Center does not change an existing consent: delete it, then consent.
                raise PartnerCenterError(409, 409, ALREADY_EXISTS)
        except PartnerCenterError as exc:
            return error_response(request, exc)
        previous = tenant.app_consent
        display_name = body.get("displayname")
        tenant.app_consent = gdap.AppConsent(
            True,
            scopes,
            list(previous.app_roles),
            effective_at=ctx.now() + ctx.world.propagation_delay_for(tenant.id),
            display_name=str(display_name) if display_name else app.display_name,
            assigned_at=dict(previous.assigned_at),
        )
        item = consent_item(ctx.world, tenant)
        if request_id:
            done[(tenant.id, request_id)] = item
    return pc_json(request, item, 201)


def list_application_consents(ctx: SimContext, request: Request, customer_id: str) -> Response:
    try:
        _, tenant = _consenter(ctx, request, customer_id)
    except PartnerCenterError as exc:
        return error_response(request, exc)
    items = [consent_item(ctx.world, tenant)] if tenant.app_consent.consented else []
    body = {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}
    return pc_json(request, body)


def delete_application_consent(
    ctx: SimContext, request: Request, customer_id: str, application_id: str
) -> Response:
    try:
        _, tenant = _consenter(ctx, request, customer_id)
        app = _partner_app(ctx.world, tenant)
        if application_id.strip().lower() != app.client_id or not tenant.app_consent.consented:
            raise PartnerCenterError(404, 404, CONSENT_NOT_FOUND)
    except PartnerCenterError as exc:
        return error_response(request, exc)
    tenant.app_consent = gdap.AppConsent(False)
    return Response(status=204, headers=request_ids(request))


def url_rules() -> list[Rule]:
    consents = "/partnercenter/v1/customers/<customer_id>/applicationconsents"
    return [
        Rule(consents, endpoint=create_application_consent, methods=["POST"]),
        Rule(consents, endpoint=list_application_consents, methods=["GET"]),
        Rule(
            f"{consents}/<application_id>",
            endpoint=delete_application_consent,
            methods=["DELETE"],
        ),
    ]
