"""The user and managed-device detail pages: facts from Graph (the simulator), the actions
panel checked against the agent's portal role and GDAP roles, isolation and 404s."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from accounts.models import Role, User
from audit.models import AuditEvent
from customers.access import customer_access
from customers.actions import ACTIONS, Target, action_verdicts
from customers.models import Customer
from customers.services import customers_sync, sync_run_start
from regions.clients import graph_as_app

pytestmark = pytest.mark.django_db

AGENT = "agent@contosopartners.com"


@pytest.fixture
def synced(regions: dict[str, Any]) -> None:
    run, _ = sync_run_start(region=regions["us"])
    customers_sync(run_id=run.pk)


def _us(world: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in world["regions"] if r["slug"] == "us")


def _gdap_tenant(world: dict[str, Any]) -> str:
    return next(
        c["tenant_id"]
        for c in _us(world)["customers"]
        if c["relationship"]["type"] == "gdap"
        and c["relationship"]["status"] == "active"
        and not c.get("big")
    )


def _first(regions, tenant: str, path: str, fields: str) -> dict[str, Any]:
    graph = graph_as_app(region=regions["us"], tenant_id=tenant)
    return graph.get(path, params={"$top": 1, "$select": fields})["value"][0]


def _verdicts(html: str) -> dict[str, str]:
    """{action name: the verdict sentence} from the actions panel."""
    result = {}
    for item in html.split('data-action="')[1:]:
        name, _, rest = item.partition('"')
        verdict = rest.split('data-testid="action-verdict">', 1)[1].split("</p>", 1)[0]
        result[name] = " ".join(verdict.split())
    return result


def _tenant_requests(sim, tenant: str) -> list[dict[str, Any]]:
    return [r for r in sim.requests()["requests"] if r["tenant"] == tenant]


def test_a_user_page_shows_the_users_profile_and_account_state(sign_in, world, regions, synced):
    tenant = _gdap_tenant(world)
    user = _first(regions, tenant, "/users", "id,displayName,userPrincipalName,accountEnabled")

    page = sign_in(AGENT).get(f"/customers/{tenant}/users/{user['id']}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-testid="user-upn">{user["userPrincipalName"]}<' in html
    state = "Sign-in blocked" if user["accountEnabled"] is False else "Sign-in allowed"
    assert state in html.split('data-testid="user-sign-in"')[1].split("</p>")[0]
    assert "AuditLog.Read.All" in html  # why the last sign-in is not shown


def test_the_users_table_links_each_user_to_their_page(sign_in, world, synced):
    tenant = _gdap_tenant(world)
    html = sign_in(AGENT).get(f"/customers/{tenant}/users/").content.decode()
    assert re.search(
        rf'href="/customers/{tenant}/users/[0-9a-f-]{{36}}/" data-testid="user-link"', html
    )


def test_a_managed_device_page_shows_hardware_os_owner_compliance_and_last_sync(
    sign_in, world, regions, synced
):
    tenant = _gdap_tenant(world)
    device = _first(
        regions,
        tenant,
        "/deviceManagement/managedDevices",
        "id,deviceName,operatingSystem,osVersion,userPrincipalName,complianceState,model",
    )

    page = sign_in(AGENT).get(f"/customers/{tenant}/managed-devices/{device['id']}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-testid="device-name">{device["deviceName"]}<' in html
    assert device["userPrincipalName"] in html.split('data-testid="device-owner"')[1]
    assert device["operatingSystem"] in html.split('data-testid="device-os"')[1].split("</dd>")[0]
    assert device["model"] in html.split('data-testid="device-hardware"')[1].split("</dd>")[0]
    assert 'data-testid="device-last-sync">—<' not in html


def test_the_intune_table_links_each_device_to_its_page(sign_in, world, synced):
    tenant = _gdap_tenant(world)
    html = sign_in(AGENT).get(f"/customers/{tenant}/managed-devices/").content.decode()
    assert re.search(rf'href="/customers/{tenant}/managed-devices/[0-9a-f-]{{36}}/"', html)


def test_a_user_graph_does_not_know_is_a_404_sentence_not_a_502(sign_in, world, synced):
    tenant = _gdap_tenant(world)
    name = Customer.objects.get(tenant_id=tenant).name

    page = sign_in(AGENT).get(f"/customers/{tenant}/users/{uuid.uuid4()}/")

    assert page.status_code == 404
    assert f"This user no longer exists in {name}." in page.content.decode()


def test_a_device_intune_does_not_know_is_a_404_sentence_not_a_502(sign_in, world, synced):
    tenant = _gdap_tenant(world)

    page = sign_in(AGENT).get(f"/customers/{tenant}/managed-devices/{uuid.uuid4()}/")

    assert page.status_code == 404
    assert "This device is no longer managed by Intune in" in page.content.decode()


@pytest.mark.parametrize("page", ["users", "managed-devices"])
def test_a_detail_page_of_another_regions_tenant_is_404_with_no_request_to_microsoft(
    sim, sign_in, customers, page
):
    client = sign_in(AGENT)
    eu_tenant = str(customers["eu"][0].tenant_id)
    before = sim.requests()["counters"]

    response = client.get(f"/customers/{eu_tenant}/{page}/{uuid.uuid4()}/")

    after = sim.requests()["counters"]
    assert response.status_code == 404
    assert (after.get("token", 0), after.get("graph", 0)) == (
        before.get("token", 0),
        before.get("graph", 0),
    )
    # Refused by the isolation guard (audited as a cross-region attempt), not by a missing route.
    denial = AuditEvent.objects.get(action="access.denied")
    assert denial.detail["reason"] == "another region"
    assert denial.detail["path"] == response.wsgi_request.path


@pytest.mark.parametrize("object_id", ["not-a-guid", "0C4F2A4E-1111-4E11-8E11-111111111111"])
def test_a_malformed_object_id_is_404_before_any_graph_call_and_a_canonical_one_is_asked(
    sim, sign_in, world, synced, object_id
):
    tenant = _gdap_tenant(world)
    client = sign_in(AGENT)
    client.get(f"/customers/{tenant}/access/")  # the agent's groups are read (and cached)
    before = _tenant_requests(sim, tenant)

    assert client.get(f"/customers/{tenant}/users/{object_id}/").status_code == 404
    assert _tenant_requests(sim, tenant) == before
    canonical = client.get(f"/customers/{tenant}/users/0c4f2a4e-1111-4e11-8e11-111111111111/")
    assert "This user no longer exists" in canonical.content.decode()


def test_an_agent_sees_manager_only_actions_disabled_with_the_role_they_need(
    sign_in, world, regions, synced
):
    tenant = _gdap_tenant(world)
    user = _first(regions, tenant, "/users", "id")

    html = sign_in(AGENT).get(f"/customers/{tenant}/users/{user['id']}/").content.decode()

    verdicts = _verdicts(html)
    assert set(verdicts) == {a.name for a in ACTIONS if a.target == Target.USER}
    assert "needs the Manager role" in verdicts["block-sign-in"]
    assert "needs the Manager role" in verdicts["unblock-sign-in"]
    assert verdicts["reset-password"] == "You may run this action here."
    # Each action the agent may run is a form; a manager's action is a disabled button.
    panel = html.split('data-testid="actions-panel"')[1]
    disabled = re.findall(r'<button[^>]*\sdisabled[^>]*data-testid="action-([a-z-]+)"', panel)
    assert set(disabled) == {"block-sign-in", "unblock-sign-in"}
    assert 'action="/customers/' in panel and "/actions/revoke-sessions/" in panel


def test_a_manager_may_block_sign_in_where_their_groups_hold_user_administrator(
    sign_in, world, regions, synced
):
    tenant = _gdap_tenant(world)
    user = _first(regions, tenant, "/users", "id")

    html = sign_in("manager@contosopartners.com").get(f"/customers/{tenant}/users/{user['id']}/")

    assert _verdicts(html.content.decode())["block-sign-in"] == "You may run this action here."


def test_the_l1_agent_may_reset_passwords_and_is_told_revoking_sessions_needs_user_admin(
    sign_in, world, synced
):
    us = _us(world)
    l1 = next(a["username"] for a in world["agents"] if a["username"].startswith("l1@"))
    tenant = next(iter(next(g for g in us["groups"] if l1 in g["members"])["roles_by_customer"]))
    client = sign_in(l1)
    users = client.get(f"/customers/{tenant}/users/").content.decode()
    link = re.search(r'href="([^"]+)" data-testid="user-link"', users).group(1)

    verdicts = _verdicts(client.get(link).content.decode())

    assert verdicts["reset-password"] == "You may run this action here."  # Helpdesk Admin
    assert "needs User Administrator in this customer" in verdicts["revoke-sessions"]


def test_the_l1_agent_cannot_open_a_device_page_and_is_told_the_intune_role_before_graph(
    sim, sign_in, world, synced
):
    us = _us(world)
    l1 = next(a["username"] for a in world["agents"] if a["username"].startswith("l1@"))
    tenant = next(iter(next(g for g in us["groups"] if l1 in g["members"])["roles_by_customer"]))
    client = sign_in(l1)
    client.get(f"/customers/{tenant}/access/")  # the agent's groups are read (and cached)
    before = _tenant_requests(sim, tenant)

    page = client.get(f"/customers/{tenant}/managed-devices/{uuid.uuid4()}/")

    assert page.status_code == 403
    assert "needs Intune Administrator or Global Reader" in page.content.decode()
    assert _tenant_requests(sim, tenant) == before


def test_every_device_action_is_disabled_for_the_l1_group_naming_intune_administrator(
    world, synced
):
    us = _us(world)
    l1_group = next(g for g in us["groups"] if g["name"] == "L1 no Intune")
    tenant = next(iter(l1_group["roles_by_customer"]))
    access = customer_access(
        customer=Customer.objects.get(tenant_id=tenant),
        agent_groups={l1_group["id"]: l1_group["name"]},
    )
    manager = User(username="m", role=Role.MANAGER)

    verdicts = action_verdicts(target=Target.DEVICE, user=manager, access=access)

    assert verdicts and not any(v.allowed for v in verdicts)
    for v in verdicts:
        assert any("Intune Administrator" in r for r in v.reasons), v
        assert not any("Manager role" in r for r in v.reasons)


def test_the_wipe_action_asks_for_the_device_name_typed_and_names_its_graph_call():
    wipe = next(a for a in ACTIONS if a.name == "wipe")
    assert wipe.confirm == "typed_name" and wipe.destructive
    assert wipe.portal_role == Role.MANAGER
    assert wipe.graph.path == "/deviceManagement/managedDevices/{id}/wipe"
    assert wipe.graph.reference.startswith("https://learn.microsoft.com/")


def test_a_user_page_lists_the_users_groups_and_registered_devices_as_graph_has_them(
    sign_in, world, regions, synced
):
    """The user's groups (memberOf), registered devices and licences, read in the page's one
    $batch; each list matches what Graph answers from the other side (group members, Intune
    devices naming the user), and nothing says "could not be read".
    # Reference: https://learn.microsoft.com/graph/api/user-list-memberof
    # Reference: https://learn.microsoft.com/graph/api/user-list-registereddevices
    # Reference: https://learn.microsoft.com/graph/api/user-list-licensedetails
    """
    tenant = _gdap_tenant(world)
    graph = graph_as_app(region=regions["us"], tenant_id=tenant)
    group = _first(regions, tenant, "/groups", "id,displayName")
    member = graph.get(f"/groups/{group['id']}/members", params={"$select": "id"})["value"][0]
    device = graph.get(
        "/deviceManagement/managedDevices",
        params={"$top": 1, "$select": "userId,deviceName,azureADDeviceId"},
    )["value"][0]

    client = sign_in(AGENT)
    member_page = client.get(f"/customers/{tenant}/users/{member['id']}/").content.decode()
    owner_page = client.get(f"/customers/{tenant}/users/{device['userId']}/").content.decode()

    assert 'data-testid="section-error"' not in member_page
    groups = member_page.split('data-testid="user-groups"')[1].split('data-testid="user-devices"')[
        0
    ]
    assert group["displayName"] in groups
    devices = owner_page.split('data-testid="user-devices"')[1]
    assert device["deviceName"] in devices
