"""Agent actions on one user or device, end to end against the simulator: the POST views under
./actions/<name>/, their roles, confirmation, idempotency key, Microsoft's refusals in
sentences, the audit with before and after, and the world changed as Graph changes it.

# Reference: https://learn.microsoft.com/en-us/graph/api/user-update
# Reference: https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions
# Reference: https://learn.microsoft.com/en-us/graph/api/group-post-members
# Reference: https://learn.microsoft.com/en-us/graph/api/group-delete-members
# Reference: https://learn.microsoft.com/en-us/graph/api/intune-devices-manageddevice-wipe
# Reference: https://learn.microsoft.com/en-us/graph/api/device-update
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

import pytest
from django.contrib.sessions.models import Session

from audit.models import AuditEvent
from customers.action_calls import password_generate
from customers.models import ActionRecord
from customers.services import customers_sync, sync_run_start
from regions import throttle
from regions.clients import graph_as_app
from regions.permissions import ACTION_SCOPES, CUSTOMER_READ_PERMISSIONS

pytestmark = pytest.mark.django_db

AGENT = "agent@contosopartners.com"
MANAGER = "manager@contosopartners.com"


@pytest.fixture
def synced(regions: dict[str, Any]) -> None:
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)


def _gdap_tenants(world: dict[str, Any]) -> list[str]:
    us = next(r for r in world["regions"] if r["slug"] == "us")
    return [
        c["tenant_id"]
        for c in us["customers"]
        if c["relationship"]["type"] == "gdap"
        and c["relationship"]["status"] == "active"
        and not c.get("big")
    ]


@pytest.fixture
def tenant(sim, world: dict[str, Any], synced: None) -> str:
    """A GDAP customer whose app consent includes the action scopes (as the portal's own
    consent asks for them); the seeded consents hold the reads only."""
    tenant = _gdap_tenants(world)[0]
    sim.consent(tenant, consented=True, scopes=[*CUSTOMER_READ_PERMISSIONS, *ACTION_SCOPES])
    return tenant


def _app(regions: dict[str, Any], tenant: str) -> Any:
    return graph_as_app(region=regions["us"], tenant_id=tenant)


def _user(regions, tenant: str, *, enabled: bool = True, nth: int = 0) -> dict[str, Any]:
    users = _app(regions, tenant).get(
        "/users", params={"$top": 50, "$select": "id,displayName,accountEnabled"}
    )["value"]
    return [u for u in users if u.get("accountEnabled", True) is enabled][nth]


def _device(regions, tenant: str, nth: int = 0) -> dict[str, Any]:
    return _app(regions, tenant).get(
        "/deviceManagement/managedDevices",
        params={"$top": 20, "$select": "id,deviceName,azureADDeviceId"},
    )["value"][nth]


def _post(client, tenant: str, kind: str, object_id: str, action: str, **form: str):
    url = f"/customers/{tenant}/{kind}/{object_id}/actions/{action}/"
    return client.post(url, {"key": form.pop("key", str(uuid.uuid4())), **form})


def _requests_to(sim, tenant: str) -> list[dict[str, Any]]:
    return [r for r in sim.requests()["requests"] if r["tenant"] == tenant]


def _audits(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=f"customer.action.{action}").order_by("pk"))


def _followed_message(client, response) -> str:
    assert response.status_code == 302, response.content.decode()[:500]
    page = client.get(response["Location"])
    return " ".join(re.sub(r"<[^>]+>", " ", page.content.decode()).split())


def test_a_manager_blocks_sign_in_and_the_next_read_of_graph_shows_it_blocked(
    sign_in, regions, tenant
):
    user = _user(regions, tenant)
    client = sign_in(MANAGER)

    asked = _post(client, tenant, "users", user["id"], "block-sign-in")
    assert asked.status_code == 200 and 'data-testid="action-confirm"' in asked.content.decode()
    done = _post(client, tenant, "users", user["id"], "block-sign-in", confirm="yes")

    assert "can no longer sign in" in _followed_message(client, done)
    again = _app(regions, tenant).get(f"/users/{user['id']}", params={"$select": "accountEnabled"})
    assert again["accountEnabled"] is False
    [event] = _audits("block-sign-in")
    assert event.tenant_id == uuid.UUID(tenant)
    assert event.user_id == int(client.session["_auth_user_id"])
    assert event.detail["before"] == {"accountEnabled": True}
    assert event.detail["after"] == {"accountEnabled": False}
    assert event.detail["result"] == "done"
    assert event.detail["object_id"] == user["id"]


def test_blocking_a_user_already_blocked_says_so_and_sends_no_write(sim, sign_in, regions, tenant):
    # Blocked beforehand, by the portal (the seeded world may hold no blocked user here).
    user = _user(regions, tenant)
    client = sign_in(MANAGER)
    _post(client, tenant, "users", user["id"], "block-sign-in", confirm="yes")
    before = len(_requests_to(sim, tenant))

    done = _post(client, tenant, "users", user["id"], "block-sign-in", confirm="yes")

    assert "was already blocked; nothing changed" in _followed_message(client, done)
    # One $batch (the read), no second one (the write), then the user page's own reads.
    batches = [r for r in _requests_to(sim, tenant)[before:] if r["path"].endswith("/$batch")]
    assert len(batches) == 2  # the action's read, then the user page after the redirect
    assert [a.detail["result"] for a in _audits("block-sign-in")] == ["done", "already"]


def test_the_same_form_sent_twice_runs_the_action_once_and_says_so(sim, sign_in, regions, tenant):
    user = _user(regions, tenant)
    client = sign_in(AGENT)
    key = str(uuid.uuid4())

    first = _post(client, tenant, "users", user["id"], "revoke-sessions", key=key, confirm="yes")
    assert first.status_code == 302
    sent = len(_requests_to(sim, tenant))
    second = _post(client, tenant, "users", user["id"], "revoke-sessions", key=key, confirm="yes")

    assert second.status_code == 302
    assert len(_requests_to(sim, tenant)) == sent  # nothing reached Microsoft the second time
    page = client.get(second["Location"]).content.decode()
    assert "This form was already sent, so it was not run again" in page
    assert ActionRecord.objects.filter(key=key).count() == 1
    assert len(_audits("revoke-sessions")) == 1


def test_a_form_key_reused_for_another_user_is_refused_without_a_call(
    sim, sign_in, regions, tenant
):
    first, second = _user(regions, tenant), _user(regions, tenant, nth=1)
    client = sign_in(AGENT)
    key = str(uuid.uuid4())
    _post(client, tenant, "users", first["id"], "revoke-sessions", key=key, confirm="yes")
    before = len(_requests_to(sim, tenant))

    reused = _post(client, tenant, "users", second["id"], "revoke-sessions", key=key, confirm="yes")

    assert reused.status_code == 400
    assert "already used for another action" in reused.content.decode()
    assert len(_requests_to(sim, tenant)) == before


@pytest.mark.parametrize("key", ["", "not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_action_without_a_form_key_of_ours_is_400_and_calls_no_one(
    sim, sign_in, regions, tenant, key
):
    user = _user(regions, tenant)
    client = sign_in(MANAGER)
    before = len(_requests_to(sim, tenant))

    page = _post(client, tenant, "users", user["id"], "block-sign-in", key=key, confirm="yes")

    assert page.status_code == 400
    assert "This form is out of date or did not come from the portal" in page.content.decode()
    assert len(_requests_to(sim, tenant)) == before


def test_an_agent_cannot_block_sign_in_and_nothing_reaches_microsoft(sim, sign_in, regions, tenant):
    user = _user(regions, tenant)
    client = sign_in(AGENT)
    before = len(_requests_to(sim, tenant))

    page = _post(client, tenant, "users", user["id"], "block-sign-in", confirm="yes")

    assert page.status_code == 403
    assert "It needs the Manager role in the portal." in page.content.decode()
    assert len(_requests_to(sim, tenant)) == before
    [event] = _audits("block-sign-in")
    assert event.detail["result"] == "refused"


def test_actions_are_post_only(sign_in, regions, tenant):
    user = _user(regions, tenant)
    page = sign_in(MANAGER).get(f"/customers/{tenant}/users/{user['id']}/actions/block-sign-in/")
    assert page.status_code == 405


def test_an_unknown_action_name_is_404(sign_in, regions, tenant):
    user = _user(regions, tenant)
    page = _post(sign_in(MANAGER), tenant, "users", user["id"], "delete-everything")
    assert page.status_code == 404


def test_a_device_action_name_on_a_user_is_404(sign_in, regions, tenant):
    user = _user(regions, tenant)
    page = _post(sign_in(MANAGER), tenant, "users", user["id"], "wipe", confirm="yes")
    assert page.status_code == 404


def test_reset_password_shows_a_compliant_password_once_and_never_stores_or_audits_it(
    sign_in, regions, tenant, caplog, sim
):
    user = _user(regions, tenant)
    client = sign_in(AGENT)
    caplog.set_level(logging.DEBUG)

    done = _post(client, tenant, "users", user["id"], "reset-password", confirm="yes")
    assert done.status_code == 302
    page = client.get(done["Location"])
    html = page.content.decode()
    password = re.search(r'data-testid="new-password">([^<]+)<', html).group(1)
    reload = client.get(done["Location"]).content.decode()

    assert "password was reset" in html
    assert page["Cache-Control"] == "no-store"
    assert len(password) == 16
    assert password not in reload and 'data-testid="new-password"' not in reload
    for event in AuditEvent.objects.all():
        assert password not in json.dumps(event.detail)
    for session in Session.objects.all():
        assert password not in json.dumps(session.get_decoded())
    assert password not in ActionRecord.objects.get().message
    assert password not in caplog.text  # the portal's own log, at DEBUG
    assert password not in json.dumps(sim.requests())  # the simulator's request log
    [event] = _audits("reset-password")
    assert event.detail["after"] == {"passwordReset": True, "forceChangePasswordNextSignIn": True}


def test_generated_passwords_have_every_kind_of_character_entra_counts():
    """# Reference: https://learn.microsoft.com/en-us/entra/identity/authentication/concept-password-policies"""
    for _ in range(200):
        password = password_generate()
        assert len(password) == 16
        assert any(c.islower() for c in password) and any(c.isupper() for c in password)
        assert any(c.isdigit() for c in password)
        assert any(not c.isalnum() for c in password)


def test_resending_a_reset_form_does_not_reset_again_nor_show_the_password(
    sign_in, regions, tenant
):
    user = _user(regions, tenant)
    client = sign_in(AGENT)
    key = str(uuid.uuid4())
    first = _post(client, tenant, "users", user["id"], "reset-password", key=key, confirm="yes")
    client.get(first["Location"])  # shown once

    again = _post(client, tenant, "users", user["id"], "reset-password", key=key, confirm="yes")
    html = client.get(again["Location"]).content.decode()

    assert "already reset by this form and shown once" in html
    assert 'data-testid="new-password"' not in html
    assert len(_audits("reset-password")) == 1


def test_revoking_sessions_moves_the_users_sessions_valid_from_time(sign_in, regions, tenant):
    user = _user(regions, tenant)
    client = sign_in(AGENT)

    done = _post(client, tenant, "users", user["id"], "revoke-sessions", confirm="yes")

    assert "signed out everywhere" in _followed_message(client, done)
    after = _app(regions, tenant).get(
        f"/users/{user['id']}", params={"$select": "signInSessionsValidFromDateTime"}
    )
    assert after["signInSessionsValidFromDateTime"]
    assert _audits("revoke-sessions")[0].detail["result"] == "done"


def test_resetting_a_global_administrators_password_is_microsofts_403_in_a_sentence(
    sim, sign_in, regions, world, tenant
):
    """The agent holds Helpdesk and User Administrator here, which reset the passwords of
    users without an admin role, not a Global Administrator's: Graph refuses, the portal
    says so, and nothing changed.
    # Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-reset-passwords
    """
    us = next(r for r in world["regions"] if r["slug"] == "us")
    admins = next(c["admins"] for c in us["customers"] if c["tenant_id"] == tenant)
    admin = next(a for a in admins if a["role"] == "Global Administrator")
    client = sign_in(AGENT)

    page = _post(client, tenant, "users", admin["user_id"], "reset-password", confirm="yes")

    html = " ".join(re.sub(r"<[^>]+>", " ", page.content.decode()).split())
    assert page.status_code == 403
    assert "Microsoft refused to reset password" in html and "nothing was changed" in html
    assert "Privileged Authentication Administrator" in html
    after = _app(regions, tenant).get(
        f"/users/{admin['user_id']}",
        params={"$select": "lastPasswordChangeDateTime,createdDateTime"},
    )
    assert after["lastPasswordChangeDateTime"] == after["createdDateTime"]  # never reset
    [event] = _audits("reset-password")
    assert event.detail["result"] != "done"


def test_add_to_group_offers_the_customers_groups_then_adds_and_a_second_add_is_already(
    sign_in, regions, tenant
):
    user = _user(regions, tenant)
    graph = _app(regions, tenant)
    members = {
        g["id"]
        for g in graph.get(f"/users/{user['id']}/memberOf", params={"$select": "id"})["value"]
    }
    groups = graph.get("/groups", params={"$top": 50, "$select": "id,displayName,groupTypes"})
    group = next(
        g
        for g in groups["value"]
        if g["id"] not in members and "DynamicMembership" not in g.get("groupTypes", [])
    )
    client = sign_in(AGENT)

    picker = _post(client, tenant, "users", user["id"], "add-to-group")
    assert picker.status_code == 200 and group["displayName"] in picker.content.decode()
    added = _post(client, tenant, "users", user["id"], "add-to-group", group_id=group["id"])
    assert f"is now a member of {group['displayName']}" in _followed_message(client, added)
    again = _post(client, tenant, "users", user["id"], "add-to-group", group_id=group["id"])
    assert "was already a member" in _followed_message(client, again)
    listed = graph.get(f"/groups/{group['id']}/members", params={"$select": "id"})["value"]
    assert user["id"] in {m["id"] for m in listed}
    first, second = _audits("add-to-group")
    assert first.detail["after"]["member"] is True and second.detail["result"] == "already"


def test_remove_from_group_confirms_removes_and_a_second_removal_says_not_a_member(
    sign_in, regions, tenant
):
    graph = _app(regions, tenant)
    group = graph.get("/groups", params={"$top": 1, "$select": "id,displayName"})["value"][0]
    member = graph.get(f"/groups/{group['id']}/members", params={"$select": "id"})["value"][0]
    client = sign_in(AGENT)

    asked = _post(client, tenant, "users", member["id"], "remove-from-group", group_id=group["id"])
    assert group["displayName"] in asked.content.decode()
    form = {"group_id": group["id"], "confirm": "yes"}
    removed = _post(client, tenant, "users", member["id"], "remove-from-group", **form)
    assert "is no longer a member" in _followed_message(client, removed)
    again = _post(client, tenant, "users", member["id"], "remove-from-group", **form)
    assert "was not a member" in _followed_message(client, again)
    listed = graph.get(f"/groups/{group['id']}/members", params={"$select": "id"})["value"]
    assert member["id"] not in {m["id"] for m in listed}


def test_a_membership_change_without_a_valid_group_id_is_400(sign_in, regions, tenant):
    user = _user(regions, tenant)
    page = _post(sign_in(AGENT), tenant, "users", user["id"], "remove-from-group", group_id="../x")
    assert page.status_code == 400
    assert "Choose a group" in page.content.decode()


def test_an_agent_syncs_a_device_and_intune_shows_the_sync_pending(sign_in, regions, tenant):
    device = _device(regions, tenant)
    client = sign_in(AGENT)

    done = _post(client, tenant, "managed-devices", device["id"], "sync")

    assert "was asked to sync with Intune" in _followed_message(client, done)
    after = _app(regions, tenant).get(
        f"/deviceManagement/managedDevices/{device['id']}",
        params={"$select": "deviceActionResults"},
    )
    assert {"syncDevice"} <= {r["actionName"] for r in after["deviceActionResults"]}
    assert _audits("sync")[0].detail["after"]["pendingActions"] == ["syncDevice"]


def test_a_wipe_with_the_wrong_name_typed_wipes_nothing(sign_in, regions, tenant):
    device = _device(regions, tenant)
    client = sign_in(MANAGER)

    asked = _post(client, tenant, "managed-devices", device["id"], "wipe")
    assert 'data-testid="confirm-name"' in asked.content.decode()
    assert device["deviceName"] in asked.content.decode()
    page = _post(
        client, tenant, "managed-devices", device["id"], "wipe", confirm="yes", confirm_name="nope"
    )

    assert page.status_code == 400
    assert "the name you typed does not match" in page.content.decode()
    after = _app(regions, tenant).get(
        f"/deviceManagement/managedDevices/{device['id']}",
        params={"$select": "deviceActionResults"},
    )
    assert "wipe" not in {r["actionName"] for r in after["deviceActionResults"]}


def test_a_wipe_with_the_name_typed_is_sent_once_and_a_second_wipe_is_already_pending(
    sign_in, regions, tenant
):
    device = _device(regions, tenant)
    client = sign_in(MANAGER)
    name = device["deviceName"]

    form = {"confirm": "yes", "confirm_name": name}
    done = _post(client, tenant, "managed-devices", device["id"], "wipe", **form)
    assert "is being wiped" in _followed_message(client, done)
    again = _post(client, tenant, "managed-devices", device["id"], "wipe", **form)
    assert "already pending; nothing was sent again" in _followed_message(client, again)
    after = _app(regions, tenant).get(
        f"/deviceManagement/managedDevices/{device['id']}",
        params={"$select": "deviceActionResults"},
    )
    assert [r["actionName"] for r in after["deviceActionResults"]].count("wipe") == 1


def test_an_agent_cannot_retire_a_device(sim, sign_in, regions, tenant):
    device = _device(regions, tenant)
    page = _post(sign_in(AGENT), tenant, "managed-devices", device["id"], "retire", confirm="yes")
    assert page.status_code == 403
    assert "It needs the Manager role in the portal." in page.content.decode()


def test_a_manager_disables_the_entra_device_of_an_intune_device(sign_in, regions, tenant):
    graph = _app(regions, tenant)
    devices = graph.get(
        "/deviceManagement/managedDevices",
        params={"$top": 50, "$select": "id,deviceName,azureADDeviceId"},
    )["value"]
    device = next(
        d
        for d in devices
        if graph.get("/devices", params={"$filter": f"deviceId eq '{d['azureADDeviceId']}'"})[
            "value"
        ]
    )
    client = sign_in(MANAGER)

    done = _post(
        client, tenant, "managed-devices", device["id"], "disable-entra-device", confirm="yes"
    )

    assert "Entra device is disabled" in _followed_message(client, done)
    entra = graph.get(
        "/devices",
        params={
            "$filter": f"deviceId eq '{device['azureADDeviceId']}'",
            "$select": "accountEnabled",
        },
    )["value"][0]
    assert entra["accountEnabled"] is False
    enabled = _post(client, tenant, "managed-devices", device["id"], "enable-entra-device")
    assert "enabled again" in _followed_message(client, enabled)


def test_an_action_on_a_user_graph_does_not_know_says_the_user_no_longer_exists(sign_in, tenant):
    page = _post(
        sign_in(AGENT), tenant, "users", str(uuid.uuid4()), "revoke-sessions", confirm="yes"
    )
    assert page.status_code == 404
    assert "This user no longer exists in" in page.content.decode()
    assert _audits("revoke-sessions")[0].detail["result"] == "not_found"


def test_a_throttled_action_says_how_long_to_wait_and_changes_nothing(
    sim, sign_in, regions, tenant
):
    user = _user(regions, tenant)
    client = sign_in(MANAGER)
    client.get(f"/customers/{tenant}/users/{user['id']}/")  # token and groups cached
    # One request per minute: the action's read passes, its write is throttled (Graph's
    # Retry-After, 60 s, is more than the client waits).
    sim.faults(throttle={"limit": 1, "window": 60})

    page = _post(client, tenant, "users", user["id"], "block-sign-in", confirm="yes")

    assert page.status_code == 429
    assert re.search(r"Try again in \d+ s", page.content.decode())
    sim.faults(throttle=None)
    throttle.forget_all()  # the Retry-After the portal was told holds its calls (lifted too)
    after = _app(regions, tenant).get(f"/users/{user['id']}", params={"$select": "accountEnabled"})
    assert after["accountEnabled"] is True
    assert _audits("block-sign-in")[0].detail["result"] == "throttled"


def test_when_microsoft_refuses_a_role_the_portal_believed_held_the_sentence_names_it(
    sim, sign_in, regions, tenant
):
    """The manager's groups change at Microsoft after the portal read them: Graph's 403 is
    explained with the role the action needs, and nothing changes."""
    user = _user(regions, tenant)
    client = sign_in(MANAGER)
    client.get(f"/customers/{tenant}/users/{user['id']}/")  # groups read while they held it
    sim.agent_groups(MANAGER, ["L1 no Intune"])

    page = _post(client, tenant, "users", user["id"], "block-sign-in", confirm="yes")

    html = page.content.decode()
    assert page.status_code == 403
    assert "User Administrator" in html
    after = _app(regions, tenant).get(f"/users/{user['id']}", params={"$select": "accountEnabled"})
    assert after["accountEnabled"] is True


def test_an_action_on_another_regions_customer_is_404_and_calls_no_one(sim, sign_in, world):
    eu = next(r for r in world["regions"] if r["slug"] == "eu")
    foreign = eu["customers"][0]["tenant_id"]
    client = sign_in(MANAGER)
    before = len(_requests_to(sim, foreign))

    page = _post(client, foreign, "users", str(uuid.uuid4()), "block-sign-in", confirm="yes")

    assert page.status_code == 404
    assert len(_requests_to(sim, foreign)) == before
    assert not ActionRecord.objects.exists()


def test_the_user_page_offers_each_allowed_action_as_a_form_with_its_own_key(
    sign_in, regions, tenant
):
    user = _user(regions, tenant)
    html = sign_in(AGENT).get(f"/customers/{tenant}/users/{user['id']}/").content.decode()
    panel = html.split('data-testid="actions-panel"')[1]

    keys = re.findall(r'name="key" value="([0-9a-f-]{36})"', panel)
    assert len(keys) == len(set(keys)) >= 3
    assert 'action="/customers/' in panel and "/actions/reset-password/" in panel
    block = panel.split('data-action="block-sign-in"')[1].split("</li>")[0]
    assert re.search(r"<button[^>]*\sdisabled", block)  # a manager's action, shown disabled


def test_where_the_apps_consent_lacks_the_action_scope_microsoft_refuses_and_says_how_to_fix(
    sim, sign_in, regions, world, synced
):
    """A customer consented before the portal asked for write scopes: Graph's 403 is
    explained with the permission and the fix (consent again on My access)."""
    tenant = _gdap_tenants(world)[1]
    user = _user(regions, tenant)

    page = _post(sign_in(AGENT), tenant, "users", user["id"], "revoke-sessions", confirm="yes")

    html = page.content.decode()
    assert page.status_code == 403
    assert "User.RevokeSessions.All" in html and "consents the app again" in html


def test_where_the_portal_consented_without_the_scope_the_action_is_refused_before_graph(
    sim, sign_in, regions, world, synced
):
    from customers.models import Customer

    tenant = _gdap_tenants(world)[1]
    Customer.objects.filter(tenant_id=tenant).update(consent_scopes=list(CUSTOMER_READ_PERMISSIONS))
    user = _user(regions, tenant)
    client = sign_in(AGENT)
    before = len(_requests_to(sim, tenant))

    page = _post(client, tenant, "users", user["id"], "revoke-sessions", confirm="yes")

    assert page.status_code == 403
    assert "consented here without User.RevokeSessions.All" in page.content.decode()
    assert len(_requests_to(sim, tenant)) == before


def test_an_action_post_without_the_csrf_token_is_refused_before_anything_runs(
    sim, sign_in, regions, tenant
):
    from django.test import Client

    from tests.factories import HOST

    user = _user(regions, tenant)
    signed_in = sign_in(MANAGER)
    strict = Client(enforce_csrf_checks=True, HTTP_HOST=HOST)  # the session, no CSRF token
    strict.cookies["portal_session"] = signed_in.cookies["portal_session"].value
    assert strict.get(f"/customers/{tenant}/users/{user['id']}/").status_code == 200  # signed in
    before = len(_requests_to(sim, tenant))

    page = _post(strict, tenant, "users", user["id"], "block-sign-in", confirm="yes")

    assert page.status_code == 403
    assert len(_requests_to(sim, tenant)) == before
    assert not ActionRecord.objects.exists()


def test_form_keys_older_than_a_week_are_forgotten_and_newer_ones_kept(sign_in, regions, tenant):
    from datetime import timedelta

    from django.utils import timezone

    from customers.action_records import action_records_prune

    user = _user(regions, tenant)
    client = sign_in(AGENT)
    for _ in range(2):
        _post(client, tenant, "users", user["id"], "revoke-sessions", confirm="yes")
    old = ActionRecord.objects.first()
    ActionRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))

    assert action_records_prune() == 1
    assert list(ActionRecord.objects.values_list("pk", flat=True)) != [old.pk]
    assert ActionRecord.objects.count() == 1
    assert len(_audits("revoke-sessions")) == 2  # the audit log keeps both
