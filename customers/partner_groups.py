"""The signed-in agent's partner security groups, read once per session every 15 minutes."""

from __future__ import annotations

import time

from django.contrib.sessions.backends.base import SessionBase

from mscloud.graph import GraphClient

SESSION_KEY = "_partner_groups"
MAX_AGE = 15 * 60


def agent_groups(*, session: SessionBase, graph: GraphClient) -> dict[str, str]:
    """{group id: display name} from Graph's /me/memberOf as the agent in the partner tenant.

    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-memberof"""
    cached = session.get(SESSION_KEY)
    if cached and time.time() - cached.get("at", 0) < MAX_AGE:
        return dict(cached["groups"])
    groups = {
        str(item["id"]): str(item.get("displayName") or item["id"])
        for item in graph.iter_items("/me/memberOf", params={"$select": "id,displayName"})
        if item.get("@odata.type", "#microsoft.graph.group") == "#microsoft.graph.group"
    }
    session[SESSION_KEY] = {"at": time.time(), "groups": groups}
    return groups
