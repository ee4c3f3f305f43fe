"""The OIDC UserInfo endpoint the discovery document advertises (Graph's /oidc/userinfo):
the signed-in user's sub, name, given_name, family_name and email for a Graph user token.

Reference: https://learn.microsoft.com/entra/identity-platform/userinfo
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from simulator.graph.auth import authenticate
from simulator.graph.errors import GraphError, error_response
from simulator.identity.claims import pairwise_sub
from simulator.responses import json_response

if TYPE_CHECKING:
    from simulator.context import SimContext


def userinfo(ctx: SimContext, request: Request) -> Response:
    try:
        caller = authenticate(ctx, request)
    except GraphError as exc:
        return error_response(request, exc)
    agent = caller.agent
    if agent is None:
        # An app-only token has no user to describe.
        return error_response(
            request,
            GraphError(401, "InvalidAuthenticationToken", "The token has no user."),
        )
    body = {
        "sub": pairwise_sub(agent.object_id, caller.app_id),
        "name": agent.display_name,
        "family_name": agent.surname,
        "given_name": agent.given_name,
        "email": agent.username,
    }
    return json_response(body)
