"""The simulator's Graph side of the setup check, as the real Graph answers it."""

from __future__ import annotations

import pytest

from mscloud.errors import GraphForbidden, GraphNotFound
from regions.clients import graph_as_app
from tests.regions.conftest import sim_region

pytestmark = pytest.mark.django_db


def test_applications_filtered_by_app_id_show_the_partner_app_as_multi_tenant(regions, world):
    app = sim_region(world, "us")["app"]
    graph = graph_as_app(region=regions["us"])
    found = graph.get(
        "/applications",
        params={"$filter": f"appId eq '{app['client_id']}'", "$select": "appId,signInAudience"},
    )["value"]
    assert found == [{"appId": app["client_id"], "signInAudience": "AzureADMultipleOrgs"}]


def test_a_customer_tenant_has_no_application_object_for_the_partner_app(regions, customers, world):
    app = sim_region(world, "us")["app"]
    tenant = str(customers["us"][0].tenant_id)
    graph = graph_as_app(region=regions["us"], tenant_id=tenant)
    found = graph.get("/applications", params={"$filter": f"appId eq '{app['client_id']}'"})
    assert found["value"] == []


def test_member_of_lists_admin_agents_until_the_member_is_removed(regions, world):
    sp_id = sim_region(world, "us")["app"]["sp_object_id"]
    graph = graph_as_app(region=regions["us"])
    groups = graph.get(f"/servicePrincipals/{sp_id}/memberOf")["value"]
    assert [g["displayName"] for g in groups] == ["AdminAgents"]
    # Removing needs GroupMember.ReadWrite.All, which the app does not hold.
    with pytest.raises(GraphForbidden):
        graph.request("DELETE", f"/groups/{groups[0]['id']}/members/{sp_id}/$ref")


def test_member_of_an_unknown_service_principal_is_not_found(regions):
    graph = graph_as_app(region=regions["us"])
    with pytest.raises(GraphNotFound):
        graph.get("/servicePrincipals/00000000-0000-0000-0000-000000000001/memberOf")


def test_the_controls_revoke_preconsent_and_make_the_app_single_tenant(sim, world):
    url = f"{sim.base_url}/_sim/regions/eu"
    assert sim.session.post(f"{url}/revoke-preconsent", timeout=10).json()["preconsented"] is False
    state = sim.session.post(f"{url}/app", json={"multi_tenant": False}, timeout=10).json()
    assert state == {
        "client_id": sim_region(world, "eu")["app"]["client_id"],
        "multi_tenant": False,
        "preconsented": False,
    }
    assert sim.session.post(f"{url}/app", json={"bogus": 1}, timeout=10).status_code == 400
    assert sim.session.post(f"{sim.base_url}/_sim/regions/xx/app", timeout=10).status_code == 404
