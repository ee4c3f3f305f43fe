"""The /_sim/ control API: the seeded world, faults, reset, the request log, invitations,
token revocation, and the region apps' registration state (preconsent, multi-tenant,
certificates). Every /_sim/ route is here.

Local use only: it hands out client secrets and passwords.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cryptography import x509
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from simulator import gdap
from simulator.certs import certificate_thumbprint
from simulator.faults import FaultConfigError
from simulator.graph import entities
from simulator.graph.pagecache import PAGES
from simulator.responses import json_response

if TYPE_CHECKING:
    from simulator.context import SimContext
    from simulator.world import Agent, App, Region, Tenant


def _error(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


def _relationship(tenant: Tenant) -> dict[str, Any]:
    """What /_sim/ says of a customer's relationship: type, live status, GDAP roles, end."""
    roles: list[str] = []
    for rel in tenant.relationships:
        roles += [n for n in gdap.role_names(rel.roles) if n not in roles]
    # DAP has no end date; otherwise the end of the GDAP relationship (or invitation).
    end = tenant.relationship_end if tenant.relationship_type != "dap" else None
    return {
        "type": tenant.relationship_type,
        "status": tenant.relationship_status,
        "roles": roles,
        "end": end.isoformat() if end else None,
    }


def _customer(tenant: Tenant) -> dict[str, Any]:
    return {
        "tenant_id": tenant.id,
        "domain": tenant.domain,
        "name": tenant.name,
        "region": tenant.region,
        "country": tenant.country,
        "relationship": _relationship(tenant),
        "app_consent": {
            "consented": tenant.app_consent.consented,
            "scopes": list(tenant.app_consent.scopes),
            "app_roles": list(tenant.app_consent.app_roles),
        },
        "users": tenant.users,
        "devices": tenant.devices,
        "big": tenant.big,
    }


def _admins(ctx: SimContext, tenant: Tenant) -> list[dict[str, Any]]:
    """The customer's users that hold a directory role (whose password a Helpdesk
    Administrator may not reset): id, userPrincipalName, role."""
    data = entities.data_for(ctx, tenant)
    return [
        {
            "user_id": data.user_id(index),
            "userPrincipalName": data.user_light(index)["userPrincipalName"],
            "role": role,
        }
        for index, role in sorted(data.role_holders().items())
    ]


def _agent(ctx: SimContext, agent: Agent) -> dict[str, Any]:
    tenant = ctx.world.tenants[agent.tenant_id]
    region = ctx.world.region(tenant.region)
    return {
        "username": agent.username,
        "password": agent.password,
        "roles": list(agent.roles),
        "region": tenant.region,
        "display_name": agent.display_name,
        "object_id": agent.object_id,
        "groups": [g.display_name for g in gdap.groups_of(region, agent)] if region else [],
    }


def _groups(ctx: SimContext, region: Region) -> list[dict[str, Any]]:
    customers = ctx.world.customers_of(region.partner_tenant_id)
    return [
        {
            "name": g.display_name,
            "id": g.id,
            "members": [a.username for a in ctx.world.agents.values() if a.object_id in g.members],
            "roles_by_customer": gdap.roles_by_customer(g, customers, ctx.now()),
        }
        for g in region.groups
    ]


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
                    "redirect_uris": list(app.redirect_uris),
                },
                "customers": [
                    {**_customer(t), "admins": _admins(ctx, t)}
                    for t in world.customers_of(region.partner_tenant_id)
                ],
                "groups": _groups(ctx, region),
            }
        )
    agents = [_agent(ctx, a) for a in world.agents.values()]
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
    # With the kept pages' figures, so a benchmark can say what the simulator spared itself.
    return json_response({**ctx.log.snapshot(), "page_cache": PAGES.stats()})


def accept_invitation(ctx: SimContext, request: Request, tenant: str) -> Response:
    found = ctx.world.find_tenant(tenant)
    if found is None or found.kind != "customer":
        return _error(f"Unknown customer tenant {tenant}.", 404)
    now = ctx.now()
    updated = ctx.world.accept_invitation(found.id, now)
    return json_response(
        {
            "tenant_id": updated.id,
            "relationship": _relationship(updated),
            "propagated_at": updated.propagated_at,
            "propagates_in": max(0.0, (updated.propagated_at or now) - now),
        }
    )


def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _Refused("The body must be a JSON object.")
    return body


class _Refused(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.response = _error(message, status)


def _customer_tenant(ctx: SimContext, tenant: str) -> Tenant:
    found = ctx.world.find_tenant(tenant)
    if found is None or found.kind != "customer":
        raise _Refused(f"Unknown customer tenant {tenant}.", 404)
    return found


def _role_ids(names: Any) -> list[str]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _Refused("roles must be a list of Entra role names.")
    unknown = [n for n in names if n not in gdap.ROLE_IDS]
    if unknown:
        raise _Refused(f"Unknown role {unknown[0]!r}; known: {', '.join(gdap.ROLE_IDS)}.")
    return gdap.role_ids(names)


def consent(ctx: SimContext, request: Request, tenant: str) -> Response:
    """Set the app's consent state in a customer:
    {"consented": bool, "scopes"?: [...], "app_roles"?: [...]} (defaults: all or none)."""
    try:
        found = _customer_tenant(ctx, tenant)
        body = _json_object(request)
        if not isinstance(body.get("consented"), bool) or set(body) - {
            "consented",
            "scopes",
            "app_roles",
        }:
            raise _Refused('Send {"consented": true|false, "scopes"?: [...], "app_roles"?: [...]}.')
        for key in ("scopes", "app_roles"):
            value = body.get(key)
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                raise _Refused(f"{key} must be a list of permission names.")
    except _Refused as exc:
        return exc.response
    consented = body["consented"]
    scopes = body.get("scopes")
    if scopes is None:
        scopes = list(gdap.CONSENT_SCOPES) if consented else []
    app_roles = body.get("app_roles")
    if app_roles is None:
        app_roles = list(gdap.CONSENT_APP_ROLES) if consented else []
    if not consented and (scopes or app_roles):
        return _Refused("Without consent there is no service principal to grant to.").response
    found.app_consent = gdap.AppConsent(consented, list(scopes), list(app_roles))
    return json_response(_customer(found))


def relationship(ctx: SimContext, request: Request, tenant: str) -> Response:
    """Change a customer's relationship: {"type"?, "status"?, "roles"?: [role names]}.

    roles set the GDAP relationship's roles (its access assignments keep only those);
    status is the live status ("active" makes the partner's access reach it now).
    """
    try:
        found = _customer_tenant(ctx, tenant)
        body = _json_object(request)
        if set(body) - {"type", "status", "roles"}:
            raise _Refused("Send any of type, status and roles.")
        kind = body.get("type", found.relationship_type)
        if kind not in gdap.TYPES:
            raise _Refused(f"type must be one of {', '.join(gdap.TYPES)}.")
        status = body.get("status")
        if status is not None and status not in (*gdap.STATUSES, "none"):
            raise _Refused(f"status must be one of {', '.join(gdap.STATUSES)} or none.")
        roles = _role_ids(body["roles"]) if "roles" in body else None
    except _Refused as exc:
        return exc.response
    region = ctx.world.region(found.region)
    assert region is not None
    gdap.change_relationship(
        found, region, seed=ctx.world.seed, kind=kind, status=status, roles=roles, now=ctx.now()
    )
    return json_response(_customer(found))


def size(ctx: SimContext, request: Request, tenant: str) -> Response:
    """Resize a customer's generated directory: {"users"?: n, "devices"?: n} (devices 0: a
    tenant without any device, Entra or Intune). /_sim/reset restores the seed's sizes."""
    try:
        found = _customer_tenant(ctx, tenant)
        body = _json_object(request)
        if not body or set(body) - {"users", "devices"}:
            raise _Refused("Send users and/or devices.")
        for key, least in (("users", 1), ("devices", 0)):
            value = body.get(key, least)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise _Refused(f"{key} must be a whole number of at least {least}.")
    except _Refused as exc:
        return exc.response
    found.users = body.get("users", found.users)
    found.devices = body.get("devices", found.devices)
    return json_response(_customer(found))


def agent_groups(ctx: SimContext, request: Request, username: str) -> Response:
    """Set an agent's partner security groups: {"groups": [group names]}."""
    agent = ctx.world.agent(username)
    if agent is None:
        return _error(f"Unknown agent {username}.", 404)
    region = ctx.world.region(ctx.world.tenants[agent.tenant_id].region)
    assert region is not None
    try:
        names = _json_object(request).get("groups")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise _Refused('Send {"groups": ["<group name>", ...]}.')
        known = {g.display_name for g in region.groups}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise _Refused(f"Unknown group {unknown[0]!r} in region {region.slug}.")
    except _Refused as exc:
        return exc.response
    for group in region.groups:
        if group.display_name in names and agent.object_id not in group.members:
            group.members.append(agent.object_id)
        elif group.display_name not in names and agent.object_id in group.members:
            group.members.remove(agent.object_id)
    return json_response(_agent(ctx, agent))


def agent_roles(ctx: SimContext, request: Request, username: str) -> Response:
    """Set an agent's app role assignments on the portal's app: {"roles": ["Portal.Agent"]}
    ([] removes every role). ID tokens issued from now on carry them; issued ones do not
    change, as in Entra."""
    agent = ctx.world.agent(username)
    if agent is None:
        return _error(f"Unknown agent {username}.", 404)
    try:
        names = _json_object(request).get("roles")
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise _Refused('Send {"roles": ["Portal.Agent", ...]}.')
    except _Refused as exc:
        return exc.response
    agent.roles = list(dict.fromkeys(names))
    return json_response(_agent(ctx, agent))


def agent_revoke(ctx: SimContext, request: Request, username: str) -> Response:
    """What revokeSignInSessions (or a password reset) does to one partner user: every
    refresh token of theirs answers AADSTS50173 from now on and their SSO sessions end.
    Access tokens already issued stay valid until they expire, as in Entra.

    # Reference: https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions
    """
    agent = ctx.world.agent(username)
    if agent is None:
        return _error(f"Unknown agent {username}.", 404)
    revoked = 0
    with ctx.grants.lock:
        for grant in ctx.grants.refresh_tokens.values():
            if grant["username"] == agent.username and not grant.get("revoked"):
                grant["revoked"] = True
                revoked += 1
        for session, owner in list(ctx.grants.sso_sessions.items()):
            if owner == agent.username:
                del ctx.grants.sso_sessions[session]
    return json_response({"username": agent.username, "refresh_tokens_revoked": revoked})


def default_gdap_roles(ctx: SimContext, request: Request) -> Response:
    """The roles of the GDAP relationship a customer created through Partner Center gets
    (Microsoft's default set is unconfirmed): GET, or POST {"roles": [role names]}."""
    if request.method == "POST":
        try:
            ctx.world.default_gdap_roles = _role_ids(_json_object(request).get("roles"))
        except _Refused as exc:
            return exc.response
    return json_response({"roles": gdap.role_names(ctx.world.default_gdap_roles)})


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


def app_redirect_uris(ctx: SimContext, request: Request, slug: str) -> Response:
    """Add web redirect URIs to the region's app registration ("Authentication" → "Add a
    platform" → Web): POST {"redirect_uris": ["https://portal.example/auth/callback/"]};
    GET lists them. An http URI must be a loopback one, as Entra requires.

    Reference: https://learn.microsoft.com/entra/identity-platform/reply-url"""
    app = _region_app(ctx, slug)
    if app is None:
        return _error(f"Unknown region {slug}.", 404)
    if request.method == "POST":
        try:
            uris = json.loads(request.get_data(as_text=True) or "{}")["redirect_uris"]
        except (ValueError, KeyError, TypeError):
            uris = None
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
            return _error('Send {"redirect_uris": ["https://…/auth/callback/"]}.')
        for uri in uris:
            refusal = _redirect_uri_refusal(uri)
            if refusal:
                return _error(refusal)
        for uri in uris:
            if uri not in app.redirect_uris:
                app.redirect_uris.append(uri)
    return json_response({"redirect_uris": list(app.redirect_uris)})


def _redirect_uri_refusal(uri: str) -> str | None:
    """Why Entra would not register `uri` as a redirect URI, or None."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return f"{uri!r} is not a URI."
    if len(uri) > 256:
        return "A redirect URI has at most 256 characters."
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1"):
        return None
    return f"{uri!r}: a redirect URI must be https, or http on localhost / 127.0.0.1."


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
        Rule("/_sim/customers/<tenant>/consent", endpoint=consent, methods=["POST"]),
        Rule("/_sim/customers/<tenant>/relationship", endpoint=relationship, methods=["POST"]),
        Rule("/_sim/customers/<tenant>/size", endpoint=size, methods=["POST"]),
        Rule("/_sim/agents/<username>/groups", endpoint=agent_groups, methods=["POST"]),
        Rule("/_sim/agents/<username>/roles", endpoint=agent_roles, methods=["POST"]),
        Rule("/_sim/agents/<username>/revoke", endpoint=agent_revoke, methods=["POST"]),
        Rule("/_sim/gdap/default-roles", endpoint=default_gdap_roles, methods=["GET", "POST"]),
        Rule(
            "/_sim/regions/<slug>/revoke-preconsent", endpoint=revoke_preconsent, methods=["POST"]
        ),
        Rule("/_sim/regions/<slug>/app", endpoint=app_settings, methods=["GET", "POST"]),
        Rule(
            "/_sim/regions/<slug>/app/redirect-uris",
            endpoint=app_redirect_uris,
            methods=["GET", "POST"],
        ),
        Rule(
            "/_sim/regions/<slug>/app/certificates",
            endpoint=app_certificates,
            methods=["GET", "POST"],
        ),
    ]
