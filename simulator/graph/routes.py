"""URL rules of the Graph part: /graph/{v1.0|beta}/… mapped to handlers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from simulator.graph import (
    batch,
    directory_roles,
    headers,
    intune,
    relationships,
    resources,
    service_principals,
    setup_resources,
    writes,
)
from simulator.graph.errors import GraphError, error_response
from simulator.graph.responses import relative_path

if TYPE_CHECKING:
    from simulator.context import SimContext

PREFIX = '/graph/<any("v1.0", "beta"):version>'
GraphHandler = Callable[..., Response]


def graph_endpoint(handler: GraphHandler) -> Callable[..., Response]:
    """Adapt a Graph handler to the simulator's signature and render GraphError bodies."""

    @functools.wraps(handler)
    def endpoint(ctx: SimContext, request: Request, version: str, **values: Any) -> Response:
        path = headers.directory_path(relative_path(request, version))
        try:
            response = handler(ctx, request, version=version, **values)
        except GraphError as exc:
            if exc.status == 429 and path is not None:
                tenant = request.environ.get("sim.tenant", "")
                exc.headers = {**exc.headers, **headers.throttle_headers(request, tenant)}
            response = error_response(request, exc)
        if path is not None and response.status_code != 429:
            response.headers["x-ms-resource-unit"] = str(headers.resource_units(request, path))
        return response

    return endpoint


# (path after the version, handler, methods)
RESOURCE_ROUTES: tuple[tuple[str, GraphHandler, tuple[str, ...]], ...] = (
    ("/organization", resources.organization, ("GET",)),
    ("/me", resources.me, ("GET",)),
    ("/me/memberOf", resources.me_member_of, ("GET",)),
    ("/me/memberOf/microsoft.graph.group", resources.me_member_of_groups, ("GET",)),
    ("/users", resources.users, ("GET",)),
    ("/users/$count", resources.users_count, ("GET",)),
    ("/users/<key>", resources.user, ("GET",)),
    ("/users/<key>/memberOf", resources.user_member_of, ("GET",)),
    ("/users/<key>/memberOf/microsoft.graph.group", resources.user_member_of_groups, ("GET",)),
    ("/users/<key>/registeredDevices", resources.user_registered_devices, ("GET",)),
    ("/users/<key>/licenseDetails", resources.user_license_details, ("GET",)),
    ("/users/<key>", writes.update_user, ("PATCH",)),
    ("/users/<key>/revokeSignInSessions", writes.revoke_sign_in_sessions, ("POST",)),
    ("/groups", resources.groups, ("GET",)),
    ("/groups/$count", resources.groups_count, ("GET",)),
    ("/groups/<group_id>", resources.group, ("GET",)),
    ("/groups/<group_id>/members", resources.group_members, ("GET",)),
    ("/groups/<group_id>/members/$ref", resources.add_group_member, ("POST",)),
    (
        "/groups/<group_id>/members/<member_id>/$ref",
        writes.remove_group_member,
        ("DELETE",),
    ),
    ("/devices", resources.devices, ("GET",)),
    ("/devices/<device_id>", resources.device, ("GET",)),
    ("/devices/<device_id>", writes.update_device, ("PATCH",)),
    ("/contracts", resources.contracts, ("GET",)),
    ("/deviceManagement/managedDevices", intune.managed_devices, ("GET",)),
    ("/deviceManagement/managedDevices/<device_id>", intune.managed_device, ("GET",)),
    (
        "/deviceManagement/managedDevices/<device_id>/deviceCompliancePolicyStates",
        intune.device_compliance_policy_states,
        ("GET",),
    ),
    (
        '/deviceManagement/managedDevices/<device_id>/<any("syncDevice", "rebootNow", '
        '"retire", "wipe"):action>',
        writes.managed_device_action,
        ("POST",),
    ),
    ("/deviceManagement/deviceCompliancePolicies", intune.compliance_policies, ("GET",)),
    (
        "/deviceManagement/deviceCompliancePolicyDeviceStateSummary",
        intune.compliance_state_summary,
        ("GET",),
    ),
    ("/deviceManagement/managedDeviceOverview", intune.managed_device_overview, ("GET",)),
    # Anything else under the version: Graph's 400 rather than the simulator's generic 404.
    ("/<path:rest>", resources.unknown_segment, ("GET", "POST", "PATCH", "PUT", "DELETE")),
)


def resource_rules() -> list[Rule]:
    return [
        Rule(PREFIX + path, endpoint=graph_endpoint(handler), methods=list(methods))
        for path, handler, methods in (
            *relationships.ROUTES,
            *RESOURCE_ROUTES,
            *directory_roles.ROUTES,
            *setup_resources.ROUTES,
            *service_principals.ROUTES,
        )
    ]


@functools.cache
def resource_map() -> Map:
    """The Graph resource rules without $batch, for dispatching the requests inside a batch."""
    return Map(resource_rules(), strict_slashes=False)


def url_rules() -> list[Rule]:
    # $batch is handed the resource map rather than importing this module: no import cycle.
    handler = functools.partial(batch.batch, resources=resource_map())
    return [
        *resource_rules(),
        Rule(PREFIX + "/$batch", endpoint=graph_endpoint(handler), methods=["POST"]),
    ]
