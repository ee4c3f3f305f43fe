"""Graph writes of agent actions: user password reset and sign-in block, session revocation,
group member removal, Intune remote actions, Entra device enable/disable.

Each applies to the world (simulator.world.Writes) so the next read shows it, and refuses as
Graph does: 400 for a body Graph would not take, 403 without the permission or the Entra
role (or for a user whose own admin role that Entra role may not act on:
simulator.graph.directory_roles), 404 for an unknown object.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from simulator.graph import auth, directory_roles, entities, intune, resources
from simulator.graph.errors import (
    GraphError,
    bad_request,
    forbidden,
    graph_headers,
    intune_message,
    intune_not_found,
    intune_url,
    not_found,
)
from simulator.graph.responses import object_response

if TYPE_CHECKING:
    from simulator.context import SimContext

# Properties of a user PATCH the simulator writes; other user properties are refused
# rather than silently ignored.
USER_WRITABLE = ("accountEnabled", "passwordProfile")
PASSWORD_PROFILE_KEYS = (
    "password",
    "forceChangePasswordNextSignIn",
    "forceChangePasswordNextSignInWithMfa",
)
# Entra's password rules for cloud accounts: 8 to 256 characters of these, three of the four
# kinds (lower case, upper case, digits, symbols).
# Reference: https://learn.microsoft.com/entra/identity/authentication/concept-password-policies
PASSWORD_SYMBOLS = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> "
PASSWORD_TOO_WEAK = (
    "The specified password does not comply with password complexity requirements. "
    "Please provide a different password."
)
INTUNE_ACTIONS = ("syncDevice", "rebootNow", "retire", "wipe")
# What retire and wipe leave the device in until it has unenrolled.
# Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-managementstate
MANAGEMENT_STATE_AFTER = {"retire": "retirePending", "wipe": "wipePending"}
WIPE_OPTIONS = {
    "keepEnrollmentData": bool,
    "keepUserData": bool,
    "persistEsimDataPlan": bool,
    "macOsUnlockCode": str,
}


def _now_iso(ctx: SimContext) -> str:
    return datetime.fromtimestamp(ctx.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_body(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object, or Graph's 400 for an empty or unreadable payload."""
    raw = request.get_data(as_text=True)
    if not raw.strip():
        if required:
            raise bad_request("Empty Payload. JSON content expected.", code="BadRequest")
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set "
            "and payload is of valid JSON format.",
            code="BadRequest",
        ) from exc
    if not isinstance(body, dict):
        raise bad_request("Invalid request body: a JSON object is expected.", code="BadRequest")
    return body


def _not_boolean(value: Any) -> GraphError:
    literal = json.dumps(value).strip('"')
    return bad_request(
        f"Cannot convert the literal '{literal}' to the expected type 'Edm.Boolean'.",
        code="BadRequest",
    )


def password_complies(password: str) -> bool:
    """Whether Entra accepts this password for a cloud account (length, characters, kinds)."""
    allowed = set(string.ascii_letters + string.digits + PASSWORD_SYMBOLS)
    if not 8 <= len(password) <= 256 or not set(password) <= allowed:
        return False
    kinds = (
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(c in PASSWORD_SYMBOLS for c in password),
    )
    return sum(kinds) >= 3


def _require_account_enabled(caller: auth.Caller) -> None:
    """User.EnableDisableAccount.All counts with a read permission (the least privileged
    combination the page names); User.ReadWrite.All or Directory.ReadWrite.All alone."""
    held = caller.permissions
    least = auth.ACCOUNT_ENABLED_LEAST in held and bool(held & set(auth.USERS))
    if not least:
        caller.require(auth.ACCOUNT_ENABLED_WRITE, roles=auth.ROLES_ENABLE_DISABLE_USER)
    else:
        caller.require((auth.ACCOUNT_ENABLED_LEAST,), roles=auth.ROLES_ENABLE_DISABLE_USER)


def _password_profile(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(
            "Invalid value specified for property 'passwordProfile' of resource 'User'."
        )
    for key in value:
        if key not in PASSWORD_PROFILE_KEYS:
            raise bad_request(f"Invalid property '{key}'.", code="BadRequest")
    password = value.get("password")
    if not isinstance(password, str) or not password:
        raise bad_request(
            "Invalid value specified for property 'passwordProfile' of resource 'User'."
        )
    for key in PASSWORD_PROFILE_KEYS[1:]:
        if key in value and not isinstance(value[key], bool):
            raise _not_boolean(value[key])
    if not password_complies(password):
        raise bad_request(PASSWORD_TOO_WEAK)
    return value


def update_user(ctx: SimContext, request: Request, *, version: str, key: str) -> Response:
    """PATCH /users/{id | userPrincipalName}: accountEnabled and passwordProfile; 204.

    Reference: https://learn.microsoft.com/graph/api/user-update
    """
    caller = auth.authenticate(ctx, request)
    body = _json_body(request)
    for name in body:
        if name not in USER_WRITABLE:
            raise bad_request(
                f"Invalid property '{name}': the simulator writes only "
                f"{' and '.join(USER_WRITABLE)} of a user.",
                code="BadRequest",
            )
    if not body:
        raise bad_request("Empty Payload. JSON content expected.", code="BadRequest")
    if "accountEnabled" in body:
        _require_account_enabled(caller)
        if not isinstance(body["accountEnabled"], bool):
            raise _not_boolean(body["accountEnabled"])
    if "passwordProfile" in body:
        caller.require(auth.PASSWORD_PROFILE_WRITE, roles=auth.ROLES_PASSWORD_RESET)
        _password_profile(body["passwordProfile"])
    data = entities.data_for(ctx, caller.tenant)
    index = data.user_index(key)
    if index is None:
        raise not_found(key)
    # Whose password and account the caller's roles reach depends on the user's own roles.
    target = directory_roles.target_roles(ctx, caller.tenant, index)
    if "passwordProfile" in body:
        directory_roles.require_may_act(caller, target, directory_roles.RESET_PASSWORD)
    if "accountEnabled" in body:
        directory_roles.require_sensitive_action(caller, target)
    changes: dict[str, Any] = {}
    if "accountEnabled" in body:
        changes["accountEnabled"] = body["accountEnabled"]
    if "passwordProfile" in body:
        # The password itself is never kept, nor readable through Graph.
        changes["lastPasswordChangeDateTime"] = _now_iso(ctx)
    ctx.world.writes.patch(caller.tenant.id, data.user_id(index), changes)
    return Response(status=204, headers=graph_headers(request))


def revoke_sign_in_sessions(
    ctx: SimContext, request: Request, *, version: str, key: str
) -> Response:
    """POST /users/{id}/revokeSignInSessions: 200 {"value": true}; sets the user's
    signInSessionsValidFromDateTime to now.

    Reference: https://learn.microsoft.com/graph/api/user-revokesigninsessions
    """
    caller = auth.authenticate(ctx, request)
    caller.require(auth.REVOKE_SESSIONS, roles=auth.ROLES_REVOKE_SESSIONS)
    data = entities.data_for(ctx, caller.tenant)
    index = data.user_index(key)
    if index is None:
        raise not_found(key)
    # The roles that reset passwords invalidate refresh tokens, for the same users.
    target = directory_roles.target_roles(ctx, caller.tenant, index)
    directory_roles.require_may_act(caller, target, directory_roles.RESET_PASSWORD)
    ctx.world.writes.patch(
        caller.tenant.id,
        data.user_id(index),
        {"signInSessionsValidFromDateTime": _now_iso(ctx)},
    )
    return object_response(ctx, request, version, "Edm.Boolean", {"value": True})


def remove_group_member(
    ctx: SimContext, request: Request, *, version: str, group_id: str, member_id: str
) -> Response:
    """DELETE /groups/{id}/members/{memberId}/$ref: 204; 404 when it is no member.
    The same permission and roles as adding one (POST …/members/$ref).

    Reference: https://learn.microsoft.com/graph/api/group-delete-members
    """
    caller = auth.authenticate(ctx, request)
    caller.require_write(auth.GROUP_MEMBER_WRITE, roles=auth.ROLES_GROUP_MEMBER_WRITE)
    world, tenant = ctx.world, caller.tenant
    index, row = resources.find_group(ctx, caller, group_id)
    object_id = member_id.lower()
    if object_id not in resources.member_ids(ctx, caller, index, row):
        raise not_found(member_id)
    region = world.region_of_tenant(tenant.id)
    gdap_group = next((g for g in region.groups if g.id == row["id"]), None) if region else None
    app = entities.partner_app(world, tenant)
    if entities.ADDED_MEMBERS.remove(world, tenant.id, row["id"], object_id):
        pass
    elif gdap_group is not None and tenant.kind == "partner":
        # Out of a GDAP security group: the agent loses the roles its assignments gave.
        gdap_group.members.remove(next(m for m in gdap_group.members if m.lower() == object_id))
    elif app is not None and object_id == app.sp_object_id and row["displayName"] == "AdminAgents":
        app.preconsented = False
    else:
        world.writes.remove_member(tenant.id, row["id"], object_id)
    return Response(status=204, headers=graph_headers(request))


def _find(coll: entities.Collection, match: Callable[[dict[str, Any]], bool]) -> dict | None:
    for index in range(coll.size):
        item = coll.item(index)
        if match(item):
            return item
    return None


def _intune_bad_request(text: str, device_id: str, action: str) -> GraphError:
    url = intune_url("deviceManagement/managedDevices", device_id) + f"/{action}"
    return GraphError(400, "BadRequest", intune_message(text, url=url))


def managed_device_action(
    ctx: SimContext, request: Request, *, version: str, device_id: str, action: str
) -> Response:
    """POST /deviceManagement/managedDevices/{id}/{syncDevice|rebootNow|retire|wipe}: 204.
    The action shows in the device's deviceActionResults (pending, then done); retire and
    wipe set its managementState (beta).

    Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-syncdevice
    Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-rebootnow
    Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-retire
    Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-wipe
    """
    caller = auth.authenticate(ctx, request, intune=auth.PRIVILEGED_OPERATIONS)
    caller.require(auth.PRIVILEGED_OPERATIONS, roles=auth.ROLES_INTUNE_PRIVILEGED, intune=True)
    body = _json_body(request, required=False)
    if action == "wipe":
        for name, value in body.items():
            kind = WIPE_OPTIONS.get(name)
            if kind is None or not isinstance(value, kind):
                raise _intune_bad_request(
                    f"Invalid value for the wipe parameter '{name}'.", device_id, action
                )
    elif body:
        raise _intune_bad_request(f"The action '{action}' takes no parameters.", device_id, action)
    row = intune.managed_device_find(ctx, caller.tenant, version)(device_id)
    if row is None:
        raise intune_not_found(intune_url("deviceManagement/managedDevices", device_id))
    writes = ctx.world.writes
    written = writes.patched(caller.tenant.id, row["id"])
    changes: dict[str, Any] = {
        "actions": [*written.get("actions", ()), {"name": action, "started": ctx.now()}]
    }
    if action in MANAGEMENT_STATE_AFTER:
        changes["managementState"] = MANAGEMENT_STATE_AFTER[action]
    writes.patch(caller.tenant.id, row["id"], changes)
    return Response(status=204, headers=graph_headers(request))


def update_device(ctx: SimContext, request: Request, *, version: str, device_id: str) -> Response:
    """PATCH /devices/{id | deviceId}: accountEnabled (enable or disable the Entra device); 204.

    Delegated: Directory.AccessAsUser.All and Intune Administrator or Cloud Device
    Administrator. App-only: Device.ReadWrite.All, and for a device whose operatingSystem is
    not Windows only extensionAttributes, so accountEnabled is refused there.
    Reference: https://learn.microsoft.com/graph/api/device-update
    """
    caller = auth.authenticate(ctx, request)
    if caller.delegated:
        caller.require(auth.DEVICE_WRITE_DELEGATED, roles=auth.ROLES_DEVICE_ENABLE)
    else:
        caller.require(auth.DEVICE_WRITE_APP)
    body = _json_body(request)
    for name in body:
        if name != "accountEnabled":
            raise bad_request(
                f"Invalid property '{name}': the simulator writes only accountEnabled of a device.",
                code="BadRequest",
            )
    if not isinstance(body.get("accountEnabled"), bool):
        raise _not_boolean(body.get("accountEnabled"))
    coll = entities.device_set(ctx, caller.tenant)
    key = device_id.lower()
    row = _find(coll, lambda item: key in (item["id"], item["deviceId"]))
    if row is None:
        raise not_found(device_id)
    if not caller.delegated and row["operatingSystem"] != "Windows":
        raise forbidden()
    ctx.world.writes.patch(caller.tenant.id, row["id"], {"accountEnabled": body["accountEnabled"]})
    return Response(status=204, headers=graph_headers(request))
