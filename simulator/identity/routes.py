"""URL rules of the identity part: /{tenant}/… (tenant id, domain, common or organizations)."""

from __future__ import annotations

from werkzeug.routing import Rule

from simulator.identity.authorize import authorize_v1, authorize_v2, logout
from simulator.identity.discovery import jwks, openid_configuration_v1, openid_configuration_v2
from simulator.identity.grants import token_v1, token_v2
from simulator.identity.userinfo import userinfo


def browser_url_rules() -> list[Rule]:
    """The pages a browser opens: served on the plain-HTTP port (and on HTTPS too)."""
    return [
        Rule("/<tenant>/oauth2/v2.0/authorize", endpoint=authorize_v2, methods=["GET", "POST"]),
        Rule("/<tenant>/oauth2/authorize", endpoint=authorize_v1, methods=["GET", "POST"]),
        Rule("/<tenant>/oauth2/v2.0/logout", endpoint=logout, methods=["GET", "POST"]),
        Rule("/<tenant>/oauth2/logout", endpoint=logout, methods=["GET", "POST"]),
    ]


def url_rules() -> list[Rule]:
    return [
        Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint=openid_configuration_v2),
        Rule("/<tenant>/.well-known/openid-configuration", endpoint=openid_configuration_v1),
        Rule("/<tenant>/discovery/v2.0/keys", endpoint=jwks),
        Rule("/<tenant>/discovery/keys", endpoint=jwks),
        Rule("/<tenant>/oauth2/v2.0/token", endpoint=token_v2, methods=["POST"]),
        Rule("/<tenant>/oauth2/token", endpoint=token_v1, methods=["POST"]),
        Rule("/graph/oidc/userinfo", endpoint=userinfo, methods=["GET", "POST"]),
        *browser_url_rules(),
    ]
