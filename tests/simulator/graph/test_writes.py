"""Graph writes of agent actions, in process: each applies to the world (a second read shows
it) and refuses as Graph does (400 body, 403 permission or Entra role, 404 unknown object)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from werkzeug.test import Client

from simulator import access, gdap
from simulator.app import SimApp, build_map
from simulator.config import SeedConfig
from simulator.context import SimContext
from simulator.graph import entities
from simulator.identity import scopes
from simulator.identity.errors import AadError
from simulator.signing import SigningKeys
from simulator.world import APP_WRITE_SCOPES, Tenant

AGENT = "agent@contosopartners.com"  # Helpdesk, User and Intune Administrator (GDAP)
L1 = "l1@contosopartners.com"  # Directory Readers and Helpdesk Administrator only
STRONG = "Xq7!vB2#kLm9"
ALL_WRITES = (
    "User.Read.All",
    "User-PasswordProfile.ReadWrite.All",
    "User.EnableDisableAccount.All",
    "User.RevokeSessions.All",
    "GroupMember.ReadWrite.All",
    "Group.Read.All",
    "Device.Read.All",
    "Directory.AccessAsUser.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.PrivilegedOperations.All",
)


@pytest.fixture(scope="module")
def signing() -> SigningKeys:
    return SigningKeys.generate()


@pytest.fixture
def ctx(signing: SigningKeys) -> SimContext:
    return SimContext(config=SeedConfig(), signing=signing)


class Graph:
    """Calls the simulator's Graph in process with tokens signed by its key."""

    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.client = Client(SimApp(ctx, build_map()))
        self.us = ctx.world.region("us")
        assert self.us is not None

    def customer(self, username: str, *, has: str, lacks: str | None = None) -> Tenant:
        """A GDAP customer where the agent holds role `has` and not `lacks`."""
        agent = self.ctx.world.agent(username)
        assert agent is not None
        for tenant in self.ctx.world.customers_of(self.us.partner_tenant_id):
            held = access.agent_roles(self.ctx.world, agent, tenant, self.ctx.now()) or set()
            if has in held and "Global Administrator" not in held and lacks not in held:
                return tenant
        raise AssertionError(f"no customer where {username} holds {has} without {lacks}")

    def delegated(self, tenant: Tenant, username: str, scopes: tuple[str, ...]) -> str:
        agent = self.ctx.world.agent(username)
        assert agent is not None
        return self._sign(
            tenant, idtyp="user", oid=agent.object_id, scp=" ".join(scopes), upn=username
        )

    def app_only(self, tenant: Tenant, roles: tuple[str, ...]) -> str:
        return self._sign(tenant, idtyp="app", oid=str(uuid.uuid4()), roles=list(roles))

    def _sign(self, tenant: Tenant, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "aud": "https://graph.microsoft.com",
            "iss": f"https://sts.windows.net/{tenant.id}/",
            "tid": tenant.id,
            "appid": self.us.app.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "ver": "1.0",
            **claims,
        }
        return self.ctx.signing.sign(body)

    def call(self, method: str, path: str, token: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = body if isinstance(body, str) else json.dumps(body)
            headers["Content-Type"] = "application/json"
        return self.client.open(
            f"/graph/{path.lstrip('/')}", method=method, headers=headers, data=data
        )

    def first_user(self, tenant: Tenant) -> dict[str, Any]:
        return entities.user_set(self.ctx, tenant).item(0)

    def first_device(self, tenant: Tenant) -> dict[str, Any]:
        return entities.managed_device_set(self.ctx, tenant, "v1.0").item(0)


@pytest.fixture
def graph(ctx: SimContext) -> Graph:
    return Graph(ctx)


def error(response: Any) -> dict[str, Any]:
    return response.get_json()["error"]


# ----- PATCH /users/{id}: passwordProfile ---------------------------------------------------
# Reference: https://learn.microsoft.com/graph/api/user-update (passwordProfile:
# User-PasswordProfile.ReadWrite.All is its least privileged permission)
# Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-reset-passwords
def test_a_helpdesk_administrator_resets_a_password_and_the_user_shows_the_change(graph):
    tenant = graph.customer(L1, has="Helpdesk Administrator", lacks="User Administrator")
    user = graph.first_user(tenant)
    token = graph.delegated(tenant, L1, ALL_WRITES)
    body = {"passwordProfile": {"password": STRONG, "forceChangePasswordNextSignIn": True}}
    response = graph.call("PATCH", f"v1.0/users/{user['id']}", token, body)
    assert response.status_code == 204, response.get_data(as_text=True)
    assert response.get_data() == b""
    read = graph.call(
        "GET", f"v1.0/users/{user['id']}?$select=lastPasswordChangeDateTime", token
    ).get_json()
    assert read["lastPasswordChangeDateTime"] != user["lastPasswordChangeDateTime"]
    assert STRONG not in json.dumps(graph.call("GET", f"v1.0/users/{user['id']}", token).json)


def test_a_password_reset_with_user_readwrite_all_alone_is_refused(graph):
    # Reference: https://learn.microsoft.com/graph/api/user-update (the passwordProfile row)
    tenant = graph.customer(AGENT, has="User Administrator")
    user = graph.first_user(tenant)
    token = graph.delegated(tenant, AGENT, ("User.ReadWrite.All", "Directory.ReadWrite.All"))
    body = {"passwordProfile": {"password": STRONG}}
    response = graph.call("PATCH", f"v1.0/users/{user['id']}", token, body)
    assert response.status_code == 403
    assert error(response)["code"] == "Authorization_RequestDenied"


def test_a_password_reset_without_a_reset_role_is_refused(graph):
    tenant = graph.customer(AGENT, has="User Administrator")
    agent = graph.ctx.world.agent(AGENT)
    # Take the agent's GDAP groups away but keep a reader role: only Directory Readers.
    for group in graph.us.groups:
        if agent.object_id in group.members and "Helpdesk" in group.display_name:
            group.members.remove(agent.object_id)
    held = access.agent_roles(graph.ctx.world, agent, tenant, graph.ctx.now()) or set()
    assert not held & {"Helpdesk Administrator", "User Administrator", "Password Administrator"}
    user = graph.first_user(tenant)
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    body = {"passwordProfile": {"password": STRONG}}
    response = graph.call("PATCH", f"v1.0/users/{user['id']}", token, body)
    assert response.status_code == 403
    assert error(response)["code"] == "Authorization_RequestDenied"


@pytest.mark.parametrize(
    "password",
    ["Short1!", "alllowercaseletters", "NoDigitsOrSymbols", "12345678!", "Ünïcode-Pässw0rd"],
)
def test_a_password_entra_would_reject_is_a_400_with_entras_message(graph, password):
    # Reference: https://learn.microsoft.com/entra/identity/authentication/concept-password-policies
    tenant = graph.customer(AGENT, has="User Administrator")
    user = graph.first_user(tenant)
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    body = {"passwordProfile": {"password": password}}
    response = graph.call("PATCH", f"v1.0/users/{user['id']}", token, body)
    assert response.status_code == 400
    assert error(response)["code"] == "Request_BadRequest"
    assert "password complexity requirements" in error(response)["message"]


@pytest.mark.parametrize(
    "body",
    [
        "",
        "{not json",
        {"passwordProfile": "x"},
        {"passwordProfile": {"forceChangePasswordNextSignIn": True}},
        {"passwordProfile": {"password": STRONG, "forceChangePasswordNextSignIn": "yes"}},
        {"passwordProfile": {"password": STRONG, "color": "blue"}},
        {"accountEnabled": "false"},
        {"jobTitle": "CEO"},
    ],
)
def test_a_user_patch_graph_would_not_take_is_a_400(graph, body):
    tenant = graph.customer(AGENT, has="User Administrator")
    user = graph.first_user(tenant)
    token = graph.delegated(tenant, AGENT, (*ALL_WRITES, "User.ReadWrite.All"))
    response = graph.call("PATCH", f"v1.0/users/{user['id']}", token, body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "segment" not in error(response)["message"]  # the write's own refusal
    assert graph.ctx.world.writes.patched(tenant.id, user["id"]) == {}


def test_a_write_to_an_unknown_user_is_a_404(graph):
    tenant = graph.customer(AGENT, has="User Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    missing = str(uuid.uuid4())
    response = graph.call("PATCH", f"v1.0/users/{missing}", token, {"accountEnabled": False})
    assert response.status_code == 404
    assert error(response)["code"] == "Request_ResourceNotFound"
    revoke = graph.call("POST", f"v1.0/users/{missing}/revokeSignInSessions", token)
    assert revoke.status_code == 404


# ----- PATCH /users/{id}: accountEnabled ----------------------------------------------------
def test_a_user_administrator_blocks_and_unblocks_sign_in_and_a_read_shows_it(graph):
    # Reference: https://learn.microsoft.com/graph/api/user-update (accountEnabled:
    # User.EnableDisableAccount.All with User.Read.All)
    tenant = graph.customer(AGENT, has="User Administrator")
    user = graph.first_user(tenant)
    token = graph.delegated(tenant, AGENT, ("User.Read.All", "User.EnableDisableAccount.All"))
    path = f"v1.0/users/{user['id']}"
    assert graph.call("PATCH", path, token, {"accountEnabled": False}).status_code == 204
    assert (
        graph.call("GET", f"{path}?$select=accountEnabled", token).json["accountEnabled"] is False
    )
    disabled = graph.call("GET", "v1.0/users?$filter=accountEnabled eq false", token).json
    assert user["id"] in {u["id"] for u in disabled["value"]}
    assert graph.call("PATCH", path, token, {"accountEnabled": True}).status_code == 204
    assert graph.call("GET", f"{path}?$select=accountEnabled", token).json["accountEnabled"] is True


def test_a_helpdesk_administrator_may_not_block_sign_in(graph):
    # Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference#helpdesk-administrator
    tenant = graph.customer(L1, has="Helpdesk Administrator", lacks="User Administrator")
    user = graph.first_user(tenant)
    token = graph.delegated(tenant, L1, ALL_WRITES)
    response = graph.call("PATCH", f"v1.0/users/{user['id']}", token, {"accountEnabled": False})
    assert response.status_code == 403
    assert graph.ctx.world.writes.patched(tenant.id, user["id"]) == {}


def test_enable_disable_account_without_a_read_permission_is_refused(graph):
    tenant = graph.customer(AGENT, has="User Administrator")
    user = graph.first_user(tenant)
    token = graph.delegated(tenant, AGENT, ("User.EnableDisableAccount.All",))
    response = graph.call("PATCH", f"v1.0/users/{user['id']}", token, {"accountEnabled": False})
    assert response.status_code == 403


def test_a_token_with_only_read_scopes_may_not_write(graph):
    tenant = graph.customer(AGENT, has="User Administrator")
    user = graph.first_user(tenant)
    token = graph.delegated(tenant, AGENT, ("User.Read.All", "Directory.Read.All"))
    response = graph.call("PATCH", f"v1.0/users/{user['id']}", token, {"accountEnabled": False})
    assert response.status_code == 403
    assert error(response)["code"] == "Authorization_RequestDenied"


def test_blocks_in_one_batch_apply_to_every_user_and_report_each_result(graph):
    # Reference: https://learn.microsoft.com/graph/json-batching
    tenant = graph.customer(AGENT, has="User Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    users = entities.user_set(graph.ctx, tenant)
    ids = [users.item(i)["id"] for i in range(3)]
    requests = [
        {
            "id": str(n),
            "method": "PATCH",
            "url": f"/users/{user_id}",
            "headers": {"Content-Type": "application/json"},
            "body": {"accountEnabled": False},
        }
        for n, user_id in enumerate([*ids, str(uuid.uuid4())])
    ]
    response = graph.call("POST", "v1.0/$batch", token, {"requests": requests})
    assert response.status_code == 200
    statuses = {r["id"]: r["status"] for r in response.json["responses"]}
    assert statuses == {"0": 204, "1": 204, "2": 204, "3": 404}
    for user_id in ids:
        read = graph.call("GET", f"v1.0/users/{user_id}?$select=accountEnabled", token).json
        assert read["accountEnabled"] is False


# ----- POST /users/{id}/revokeSignInSessions ------------------------------------------------
def test_revoking_sessions_answers_true_and_moves_sign_in_sessions_valid_from(graph):
    # Reference: https://learn.microsoft.com/graph/api/user-revokesigninsessions
    tenant = graph.customer(L1, has="Helpdesk Administrator", lacks="User Administrator")
    user = graph.first_user(tenant)
    token = graph.delegated(tenant, L1, ("User.Read.All", "User.RevokeSessions.All"))
    response = graph.call("POST", f"v1.0/users/{user['id']}/revokeSignInSessions", token)
    assert response.status_code == 200
    assert response.json["value"] is True
    assert response.json["@odata.context"].endswith("$metadata#Edm.Boolean")
    select = "?$select=signInSessionsValidFromDateTime"
    read = graph.call("GET", f"v1.0/users/{user['id']}{select}", token).json
    assert read["signInSessionsValidFromDateTime"] > user["signInSessionsValidFromDateTime"]


def test_revoking_sessions_needs_a_revoke_permission(graph):
    tenant = graph.customer(AGENT, has="User Administrator")
    user = graph.first_user(tenant)
    token = graph.delegated(tenant, AGENT, ("User.Read.All", "User-PasswordProfile.ReadWrite.All"))
    response = graph.call("POST", f"v1.0/users/{user['id']}/revokeSignInSessions", token)
    assert response.status_code == 403


# ----- DELETE /groups/{id}/members/{memberId}/$ref ------------------------------------------
def test_removing_a_group_member_takes_it_out_and_a_second_delete_is_a_404(graph):
    # Reference: https://learn.microsoft.com/graph/api/group-delete-members
    tenant = graph.customer(AGENT, has="User Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    group = graph.call("GET", "v1.0/groups?$top=1", token).json["value"][0]
    members = graph.call("GET", f"v1.0/groups/{group['id']}/members", token).json["value"]
    member = members[0]["id"]
    path = f"v1.0/groups/{group['id']}/members/{member}/$ref"
    assert graph.call("DELETE", path, token).status_code == 204
    after = graph.call("GET", f"v1.0/groups/{group['id']}/members", token).json["value"]
    assert member not in {m["id"] for m in after}
    assert len(after) == len(members) - 1
    again = graph.call("DELETE", path, token)
    assert again.status_code == 404
    assert error(again)["code"] == "Request_ResourceNotFound"
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{member}"}
    add = graph.call("POST", f"v1.0/groups/{group['id']}/members/$ref", token, ref)
    assert add.status_code == 204
    back = graph.call("GET", f"v1.0/groups/{group['id']}/members", token).json["value"]
    assert member in {m["id"] for m in back}


def test_removing_a_group_member_needs_the_group_member_write_permission(graph):
    tenant = graph.customer(AGENT, has="User Administrator")
    token = graph.delegated(tenant, AGENT, ("Group.Read.All", "User.Read.All"))
    group = graph.call("GET", "v1.0/groups?$top=1", token).json["value"][0]
    member = graph.call("GET", f"v1.0/groups/{group['id']}/members", token).json["value"][0]
    path = f"v1.0/groups/{group['id']}/members/{member['id']}/$ref"
    refused = graph.call("DELETE", path, token)
    assert refused.status_code == 403
    assert error(refused)["code"] == "Authorization_RequestDenied"
    writer = graph.delegated(tenant, AGENT, ("Group.Read.All", "GroupMember.ReadWrite.All"))
    assert graph.call("DELETE", path, writer).status_code == 204


def test_removing_an_agent_from_a_gdap_group_takes_its_roles_in_the_customer(graph):
    partner = graph.ctx.world.tenants[graph.us.partner_tenant_id]
    customer = graph.customer(AGENT, has="User Administrator")
    agent = graph.ctx.world.agent(AGENT)
    admin = graph.delegated(partner, "admin@contosopartners.com", ("Group.Read.All",))
    before = access.agent_roles(graph.ctx.world, agent, customer, graph.ctx.now())
    for group in [g for g in graph.us.groups if agent.object_id in g.members]:
        path = f"v1.0/groups/{group.id}/members/{agent.object_id}/$ref"
        assert graph.call("DELETE", path, admin).status_code == 204
    after = access.agent_roles(graph.ctx.world, agent, customer, graph.ctx.now())
    assert before and not after


# ----- Intune remote actions ----------------------------------------------------------------
@pytest.mark.parametrize("action", ["syncDevice", "rebootNow", "retire", "wipe"])
def test_an_intune_action_is_recorded_pending_then_done(graph, monkeypatch, action):
    # Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-syncdevice
    # Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-deviceactionresult
    tenant = graph.customer(AGENT, has="Intune Administrator")
    device = graph.first_device(tenant)
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    path = f"v1.0/deviceManagement/managedDevices/{device['id']}"
    assert graph.call("POST", f"{path}/{action}", token).status_code == 204
    result = graph.call("GET", path, token).json["deviceActionResults"]
    assert [(r["actionName"], r["actionState"]) for r in result] == [(action, "pending")]
    later = graph.ctx.now() + entities.DEVICE_ACTION_SECONDS + 1
    monkeypatch.setattr(graph.ctx, "now", lambda: later)
    read = graph.call("GET", path, token).json
    assert read["deviceActionResults"][0]["actionState"] == "done"
    if action == "syncDevice":
        assert read["lastSyncDateTime"] > device["lastSyncDateTime"]


def test_an_intune_action_shows_in_the_device_list_though_its_page_was_kept(graph):
    """The device list's pages are kept (simulator.graph.pagecache) while the tenant has no
    writes; the action must show at once, not when the kept page is dropped."""
    tenant = graph.customer(AGENT, has="Intune Administrator")
    device = graph.first_device(tenant)
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    page = "v1.0/deviceManagement/managedDevices?$select=id,deviceActionResults&$top=5"
    listed = graph.call("GET", page, token).json["value"]
    assert graph.call("GET", page, token).json["value"] == listed  # the kept page
    assert (
        graph.call(
            "POST", f"v1.0/deviceManagement/managedDevices/{device['id']}/syncDevice", token
        ).status_code
        == 204
    )

    after = {d["id"]: d for d in graph.call("GET", page, token).json["value"]}

    assert [r["actionName"] for r in after[device["id"]]["deviceActionResults"]] == ["syncDevice"]


@pytest.mark.parametrize(
    ("action", "state"), [("retire", "retirePending"), ("wipe", "wipePending")]
)
def test_retire_and_wipe_set_the_management_state(graph, action, state):
    # Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-managementstate
    tenant = graph.customer(AGENT, has="Intune Administrator")
    device = graph.first_device(tenant)
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    path = f"deviceManagement/managedDevices/{device['id']}"
    assert graph.call("GET", f"beta/{path}", token).json["managementState"] == "managed"
    body = {"keepEnrollmentData": False, "keepUserData": False} if action == "wipe" else None
    assert graph.call("POST", f"v1.0/{path}/{action}", token, body).status_code == 204
    assert graph.call("GET", f"beta/{path}", token).json["managementState"] == state


def test_an_intune_action_with_the_readwrite_permission_only_is_intunes_403(graph):
    # Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-wipe
    # (DeviceManagementManagedDevices.PrivilegedOperations.All, nothing else)
    tenant = graph.customer(AGENT, has="Intune Administrator")
    device = graph.first_device(tenant)
    scopes = ("DeviceManagementManagedDevices.ReadWrite.All", "Directory.ReadWrite.All")
    token = graph.delegated(tenant, AGENT, scopes)
    path = f"v1.0/deviceManagement/managedDevices/{device['id']}/wipe"
    response = graph.call("POST", path, token)
    assert response.status_code == 403
    assert error(response)["code"] == "Forbidden"
    assert "PrivilegedOperations.All" in json.loads(error(response)["message"])["Message"]
    assert graph.ctx.world.writes.patched(tenant.id, device["id"]) == {}


def test_an_intune_action_without_the_intune_administrator_role_is_refused(graph):
    tenant = graph.customer(L1, has="Helpdesk Administrator", lacks="Intune Administrator")
    device = graph.first_device(tenant)
    token = graph.delegated(tenant, L1, ALL_WRITES)
    path = f"v1.0/deviceManagement/managedDevices/{device['id']}/rebootNow"
    response = graph.call("POST", path, token)
    assert response.status_code == 403
    assert error(response)["code"] == "UnknownError"


def test_an_intune_action_on_an_unknown_device_or_with_a_bad_body_is_refused(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    device = graph.first_device(tenant)
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    missing = f"v1.0/deviceManagement/managedDevices/{uuid.uuid4()}/syncDevice"
    assert graph.call("POST", missing, token).status_code == 404
    wipe = f"v1.0/deviceManagement/managedDevices/{device['id']}/wipe"
    assert graph.call("POST", wipe, token, {"keepUserData": "yes"}).status_code == 400
    assert graph.call("POST", wipe, token, {"eraseEverything": True}).status_code == 400
    assert graph.ctx.world.writes.patched(tenant.id, device["id"]) == {}


def test_an_app_only_token_may_sync_with_the_privileged_operations_role(graph):
    tenant = next(
        t
        for t in graph.ctx.world.customers_of(graph.us.partner_tenant_id)
        if access.app_present(graph.us.app, t, graph.ctx.now())
        and t.relationship_status == "active"
    )
    device = graph.first_device(tenant)
    path = f"v1.0/deviceManagement/managedDevices/{device['id']}/syncDevice"
    reader = graph.app_only(tenant, ("DeviceManagementManagedDevices.Read.All",))
    assert graph.call("POST", path, reader).status_code == 403
    writer = graph.app_only(tenant, ("DeviceManagementManagedDevices.PrivilegedOperations.All",))
    assert graph.call("POST", path, writer).status_code == 204


# ----- PATCH /devices/{id}: accountEnabled --------------------------------------------------
def test_an_intune_administrator_disables_an_entra_device_by_id_or_device_id(graph):
    # Reference: https://learn.microsoft.com/graph/api/device-update
    tenant = graph.customer(AGENT, has="Intune Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    device = entities.device_set(graph.ctx, tenant).item(0)
    path = f"v1.0/devices/{device['id']}"
    assert graph.call("PATCH", path, token, {"accountEnabled": False}).status_code == 204
    assert graph.call("GET", path, token).json["accountEnabled"] is False
    by_device_id = f"v1.0/devices/{device['deviceId']}"
    assert graph.call("PATCH", by_device_id, token, {"accountEnabled": True}).status_code == 204
    assert graph.call("GET", path, token).json["accountEnabled"] is True


def test_a_device_write_needs_directory_access_as_user_when_delegated(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    token = graph.delegated(tenant, AGENT, ("Device.Read.All", "Directory.ReadWrite.All"))
    device = entities.device_set(graph.ctx, tenant).item(0)
    response = graph.call("PATCH", f"v1.0/devices/{device['id']}", token, {"accountEnabled": False})
    assert response.status_code == 403


def test_a_device_write_without_a_device_role_is_refused(graph):
    tenant = graph.customer(L1, has="Helpdesk Administrator", lacks="Intune Administrator")
    token = graph.delegated(tenant, L1, ALL_WRITES)
    device = entities.device_set(graph.ctx, tenant).item(0)
    response = graph.call("PATCH", f"v1.0/devices/{device['id']}", token, {"accountEnabled": False})
    assert response.status_code == 403


def test_an_app_may_not_disable_a_device_that_is_not_windows(graph):
    # "for non-Windows devices ... the app can update only the extensionAttributes property"
    tenant = next(
        t
        for t in graph.ctx.world.customers_of(graph.us.partner_tenant_id)
        if access.app_present(graph.us.app, t, graph.ctx.now())
        and t.relationship_status == "active"
    )
    rows = entities.device_set(graph.ctx, tenant)
    devices = [rows.item(i) for i in range(rows.size)]
    windows = next(d for d in devices if d["operatingSystem"] == "Windows")
    other = next(d for d in devices if d["operatingSystem"] != "Windows")
    token = graph.app_only(tenant, ("Device.ReadWrite.All",))
    body = {"accountEnabled": False}
    assert graph.call("PATCH", f"v1.0/devices/{other['id']}", token, body).status_code == 403
    assert graph.call("PATCH", f"v1.0/devices/{windows['id']}", token, body).status_code == 204


def test_a_device_patch_with_a_bad_body_or_an_unknown_id_is_refused(graph):
    tenant = graph.customer(AGENT, has="Intune Administrator")
    token = graph.delegated(tenant, AGENT, ALL_WRITES)
    device = entities.device_set(graph.ctx, tenant).item(0)
    path = f"v1.0/devices/{device['id']}"
    assert graph.call("PATCH", path, token, {"accountEnabled": "no"}).status_code == 400
    assert graph.call("PATCH", path, token, {"displayName": "x"}).status_code == 400
    missing = graph.call("PATCH", f"v1.0/devices/{uuid.uuid4()}", token, {"accountEnabled": False})
    assert missing.status_code == 404
    assert error(missing)["code"] == "Request_ResourceNotFound"


# ----- which tokens carry the write scopes -------------------------------------------------
# Reference: https://learn.microsoft.com/entra/identity-platform/scopes-oidc (.default: what
# the tenant granted the app)
# Reference: https://learn.microsoft.com/partner-center/customers/gdap-introduction (DAP's
# AdminAgents preconsent; GDAP customers grant what the consent names)
GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


def _granted(graph: Graph, tenant: Tenant, raw: str = GRAPH_DEFAULT) -> set[str]:
    request = scopes.parse_scopes(raw, tenant=tenant, app=graph.us.app, now=graph.ctx.now())
    return set(request.permissions)


def test_dap_preconsent_grants_the_write_scopes_and_the_partners_home_never_does(graph):
    dap = next(
        t
        for t in graph.ctx.world.customers_of(graph.us.partner_tenant_id)
        if t.relationship_type == "dap"
    )
    # The seeded consent (reads only) decides while it is there; without it, DAP's
    # AdminAgents preconsent grants what the app registers.
    assert not set(APP_WRITE_SCOPES) & _granted(graph, dap)
    dap.app_consent = gdap.AppConsent(consented=False, scopes=[])
    assert set(APP_WRITE_SCOPES) <= _granted(graph, dap)
    partner = graph.ctx.world.tenants[graph.us.partner_tenant_id]
    assert not set(APP_WRITE_SCOPES) & _granted(graph, partner)


def test_a_gdap_customer_grants_a_write_scope_only_once_its_consent_names_it(graph):
    tenant = graph.customer(AGENT, has="User Administrator")
    revoke = "https://graph.microsoft.com/User.RevokeSessions.All"
    assert not set(APP_WRITE_SCOPES) & _granted(graph, tenant)
    with pytest.raises(AadError) as refused:
        _granted(graph, tenant, revoke)
    assert refused.value.code == 65001  # consent_required: registered, not consented here
    tenant.app_consent.scopes.append("User.RevokeSessions.All")
    assert _granted(graph, tenant, revoke) == {"User.RevokeSessions.All"}
    assert "User.EnableDisableAccount.All" not in _granted(graph, tenant)


# ----- POST /groups/{id}/members/$ref -------------------------------------------------------
# Reference: https://learn.microsoft.com/graph/api/group-post-members (GroupMember.ReadWrite.All
# is the least privileged delegated permission; a delegated caller also needs a supported
# Entra role: Groups Administrator or User Administrator among the least privileged; adding an
# existing member is 400 "One or more added object references already exist")
def _non_member(graph: Graph, tenant: Tenant, token: str) -> tuple[str, str]:
    group = graph.call("GET", "v1.0/groups?$top=1", token).json["value"][0]
    members = graph.call("GET", f"v1.0/groups/{group['id']}/members", token).json["value"]
    ids = {m["id"] for m in members}
    user = next(
        u["id"]
        for u in graph.call("GET", "v1.0/users?$top=50&$select=id", token).json["value"]
        if u["id"] not in ids
    )
    return group["id"], user


def _ref(object_id: str) -> dict[str, str]:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{object_id}"}


def test_adding_a_member_needs_the_group_member_write_permission(graph):
    tenant = graph.customer(AGENT, has="User Administrator")
    reader = graph.delegated(tenant, AGENT, ("Group.Read.All", "User.Read.All"))
    group, user = _non_member(graph, tenant, reader)

    refused = graph.call("POST", f"v1.0/groups/{group}/members/$ref", reader, _ref(user))

    assert refused.status_code == 403
    assert error(refused)["code"] == "Authorization_RequestDenied"
    members = graph.call("GET", f"v1.0/groups/{group}/members", reader).json["value"]
    assert user not in {m["id"] for m in members}


def test_adding_a_member_without_a_groups_or_user_administrator_role_is_refused(graph):
    tenant = graph.customer(L1, has="Helpdesk Administrator", lacks="User Administrator")
    token = graph.delegated(tenant, L1, ("Group.Read.All", "User.Read.All", *ALL_WRITES))
    group, user = _non_member(graph, tenant, token)

    refused = graph.call("POST", f"v1.0/groups/{group}/members/$ref", token, _ref(user))

    assert refused.status_code == 403
    members = graph.call("GET", f"v1.0/groups/{group}/members", token).json["value"]
    assert user not in {m["id"] for m in members}


def test_adding_a_member_twice_is_graphs_400_and_the_first_add_shows(graph):
    tenant = graph.customer(AGENT, has="User Administrator")
    token = graph.delegated(tenant, AGENT, ("Group.Read.All", "User.Read.All", *ALL_WRITES))
    group, user = _non_member(graph, tenant, token)
    path = f"v1.0/groups/{group}/members/$ref"

    assert graph.call("POST", path, token, _ref(user)).status_code == 204
    again = graph.call("POST", path, token, _ref(user))

    assert again.status_code == 400
    assert "already exist" in error(again)["message"]
    members = graph.call("GET", f"v1.0/groups/{group}/members", token).json["value"]
    assert [m["id"] for m in members].count(user) == 1


# ----- no partner group in the customer -----------------------------------------------------
# Reference: https://learn.microsoft.com/partner-center/customers/gdap-assign-microsoft-entra-roles
# (an agent reaches a customer only through a security group that an access assignment of its
# GDAP relationship names; with none, no role there, so no write)
def test_an_agent_in_no_group_assigned_in_the_customer_may_write_nothing_there(graph):
    agent = graph.ctx.world.agent(L1)
    assert agent is not None
    tenant = next(
        t
        for t in graph.ctx.world.customers_of(graph.us.partner_tenant_id)
        if not access.agent_roles(graph.ctx.world, agent, t, graph.ctx.now())
        and t.relationship_type == "gdap"
    )
    token = graph.delegated(tenant, L1, ("User.Read.All", "Group.Read.All", *ALL_WRITES))
    user = graph.first_user(tenant)["id"]
    device = graph.first_device(tenant)["id"]

    writes = [
        graph.call("PATCH", f"v1.0/users/{user}", token, {"accountEnabled": False}),
        graph.call("POST", f"v1.0/users/{user}/revokeSignInSessions", token, {}),
        graph.call("POST", f"v1.0/deviceManagement/managedDevices/{device}/syncDevice", token),
    ]

    assert [w.status_code for w in writes] == [403, 403, 403]
    assert graph.first_user(tenant).get("accountEnabled") is not False
