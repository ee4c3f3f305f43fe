"""The /_sim/ control API: the seeded world, faults, reset, the request log, invitations,
token revocation, and the region apps' registration state (preconsent, multi-tenant,
certificates). Every /_sim/ route is here.

Local use only: it hands out client secrets and passwords.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from simulator.certs import certificate_thumbprint
from simulator.faults import FaultConfigError
from simulator.responses import json_response

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import App


def _error(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


def info(ctx: SimContext, request: Request) -> Response:
    world, endpoints = ctx.world, ctx.endpoints
    regions = []
    for region in world.regions:
        app = region.app
        regions.append(
            {
                "slug": region.slug,
                "name": region.name,
                "partner_name": region.partner_name,
                "partner_tenant_id": region.partner_tenant_id,
                "partner_domain": region.partner_domain,
                "app": {
                    "client_id": app.client_id,
                    "client_secret": app.client_secret,
                    "display_name": app.display_name,
                    "sp_object_id": app.sp_object_id,
                },
                "customers": [
                    {
                        "tenant_id": t.id,
                        "domain": t.domain,
                        "name": t.name,
                        "region": t.region,
                        "country": t.country,
                        "relationship": t.relationship_status,
                        "users": t.users,
                        "devices": t.devices,
                        "big": t.big,
                    }
                    for t in world.customers_of(region.partner_tenant_id)
                ],
            }
        )
    agents = [
        {
            "username": a.username,
            "password": a.password,
            "roles": list(a.roles),
            "region": world.tenants[a.tenant_id].region,
            "display_name": a.display_name,
            "object_id": a.object_id,
        }
        for a in world.agents.values()
    ]
    body = {
        "endpoints": {
            "login": endpoints.login,
            "graph": endpoints.graph,
            "partner_center": endpoints.partner_center,
            "browser_login": endpoints.browser,
        },
        "ca": endpoints.ca,
        "seed": world.seed,
        "regions": regions,
        "agents": agents,
    }
    return json_response(body)


def faults(ctx: SimContext, request: Request) -> Response:
    if request.method == "POST":
        try:
            changes = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            return _error("The body must be a JSON object.")
        if not isinstance(changes, dict):
            return _error("The body must be a JSON object.")
        tenant_id = changes.pop("tenant", None)
        if tenant_id is not None:
            tenant = ctx.world.find_tenant(str(tenant_id))
            if tenant is None:
                return _error(f"Unknown tenant {tenant_id}.", 404)
            tenant_id = tenant.id
        try:
            ctx.faults.update(changes, tenant_id)
        except FaultConfigError as exc:
            return _error(str(exc))
    return json_response(ctx.faults.snapshot())


def reset(ctx: SimContext, request: Request) -> Response:
    ctx.reset()
    return json_response({"reset": True, "seed": ctx.world.seed})


def requests_log(ctx: SimContext, request: Request) -> Response:
    return json_response(ctx.log.snapshot())


def accept_invitation(ctx: SimContext, request: Request, tenant: str) -> Response:
    found = ctx.world.find_tenant(tenant)
    if found is None or found.kind != "customer":
        return _error(f"Unknown customer tenant {tenant}.", 404)
    now = ctx.now()
    updated = ctx.world.accept_invitation(found.id, now)
    return json_response(
        {
            "tenant_id": updated.id,
            "relationship": updated.relationship_status,
            "propagated_at": updated.propagated_at,
            "propagates_in": max(0.0, (updated.propagated_at or now) - now),
        }
    )


def revoke(ctx: SimContext, request: Request) -> Response:
    """Refuse access tokens issued until now (one tenant, or all), and optionally every
    refresh token: what a revocation or a password reset does to sessions in flight."""
    body = request.get_json(silent=True) or {}
    tenant = str(body.get("tenant") or "*")
    if tenant != "*" and ctx.world.find_tenant(tenant) is None:
        return _error(f"Unknown tenant {tenant}.", 404)
    # Token iat has one-second resolution: refuse what was issued before this second (a token
    # issued within this very second, before or after the call, stays valid).
    cutoff = float(int(ctx.now()))
    with ctx.grants.lock:
        ctx.grants.revoked_before[tenant] = cutoff
        if body.get("refresh_tokens"):
            # Kept but marked: redeeming one answers AADSTS50173 (revoked), as Entra does.
            for grant in ctx.grants.refresh_tokens.values():
                grant["revoked"] = True
            ctx.grants.sso_sessions.clear()
    return json_response({"tenant": tenant, "revoked_before": cutoff})


def ca(ctx: SimContext, request: Request) -> Response:
    """The CA certificate, so a client can fetch what to trust."""
    return Response(Path(ctx.endpoints.ca).read_bytes(), content_type="application/x-pem-file")


def _region_app(ctx: SimContext, slug: str) -> App | None:
    region = ctx.world.region(slug)
    return region.app if region else None


def _app_state(app: App) -> dict[str, Any]:
    return {
        "client_id": app.client_id,
        "multi_tenant": app.multi_tenant,
        "preconsented": app.preconsented,
    }


def revoke_preconsent(ctx: SimContext, request: Request, slug: str) -> Response:
    """Take the region's app out of AdminAgents (customers' tenants then refuse it)."""
    app = _region_app(ctx, slug)
    if app is None:
        return _error(f"Unknown region {slug}.", 404)
    app.preconsented = False
    return json_response(_app_state(app))


def app_settings(ctx: SimContext, request: Request, slug: str) -> Response:
    """GET or change ({"multi_tenant": bool, "preconsented": bool}) the region's app."""
    app = _region_app(ctx, slug)
    if app is None:
        return _error(f"Unknown region {slug}.", 404)
    if request.method == "POST":
        try:
            changes = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            return _error("The body must be a JSON object.")
        if not isinstance(changes, dict) or set(changes) - {"multi_tenant", "preconsented"}:
            return _error("Send a JSON object with multi_tenant and/or preconsented.")
        for key, value in changes.items():
            setattr(app, key, bool(value))
    return json_response(_app_state(app))


def app_certificates(ctx: SimContext, request: Request, slug: str) -> Response:
    """Upload a certificate to the region's app registration ("Certificates & secrets"), so
    a client may authenticate with it; GET lists the registered SHA-1 thumbprints."""
    app = _region_app(ctx, slug)
    if app is None:
        return _error(f"Unknown region {slug}.", 404)
    if request.method == "POST":
        try:
            pem = str(json.loads(request.get_data(as_text=True) or "{}")["certificate"])
            x509.load_pem_x509_certificate(pem.encode())
        except (ValueError, KeyError, TypeError):
            return _error('Send {"certificate": "-----BEGIN CERTIFICATE-----…"}.')
        if certificate_thumbprint(pem) not in {certificate_thumbprint(c) for c in app.certificates}:
            app.certificates.append(pem)
    return json_response({"thumbprints": [certificate_thumbprint(c) for c in app.certificates]})


def url_rules() -> list[Rule]:
    return [
        Rule("/_sim/", endpoint=info, methods=["GET"]),
        Rule("/_sim/ca.pem", endpoint=ca, methods=["GET"]),
        Rule("/_sim/faults", endpoint=faults, methods=["GET", "POST"]),
        Rule("/_sim/reset", endpoint=reset, methods=["POST"]),
        Rule("/_sim/requests", endpoint=requests_log, methods=["GET"]),
        Rule("/_sim/revoke", endpoint=revoke, methods=["POST"]),
        Rule(
            "/_sim/customers/<tenant>/accept-invitation",
            endpoint=accept_invitation,
            methods=["POST"],
        ),
        Rule(
            "/_sim/regions/<slug>/revoke-preconsent", endpoint=revoke_preconsent, methods=["POST"]
        ),
        Rule("/_sim/regions/<slug>/app", endpoint=app_settings, methods=["GET", "POST"]),
        Rule(
            "/_sim/regions/<slug>/app/certificates",
            endpoint=app_certificates,
            methods=["GET", "POST"],
        ),
    ]
