"""A new customer from nothing to working client credentials, with every token real:
Partner Center creates it (the app is not there: 700016); the partner gives its "Portal
admins" group roles in the new relationship; the admin consents the app through Partner
Center (App+User); once that has propagated a delegated token works and client credentials
carry no roles; the admin assigns Graph's app roles; client credentials carry them and
Graph answers.

Reference: https://learn.microsoft.com/partner-center/developer/create-a-customer
Reference: https://learn.microsoft.com/graph/api/delegatedadminrelationship-post-accessassignments
Reference: https://learn.microsoft.com/partner-center/developer/control-panel-vendor-apis
Reference: https://learn.microsoft.com/powershell/partnercenter/exchange-online-gdap-app
Reference: https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto
Reference: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
"""

from __future__ import annotations

import time

import jwt
import pytest

from simulator import gdap
from simulator.partnercenter import consents
from tests.simharness import Simulator

from .conftest import PARTNER_CENTER, SimClient
from .consenting import (
    ADMIN,
    APP_ROLE_IDS,
    CONSENT_SCOPES,
    GRAPH_APP,
    client_credentials,
    consent,
    customer_info,
    delegated,
    delegated_token,
    error_codes,
    pc_user_token,
)
from .test_partnercenter import new_customer

RELATIONSHIPS = "/v1.0/tenantRelationships/delegatedAdminRelationships"
# The new relationship must carry the roles consent and app-role assignment need.
NEW_CUSTOMER_ROLES = [
    "Directory Readers",
    "Global Reader",
    "User Administrator",
    "Cloud Application Administrator",
    "Privileged Role Administrator",
]
DELAY = 1.0  # seconds until a relationship, an assignment or a consent has propagated


@pytest.fixture
def cloud(sim: Simulator) -> SimClient:
    return SimClient(sim)


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def wait_for_propagation() -> None:
    time.sleep(DELAY + 0.2)


def give_portal_admins_access(cloud: SimClient, tenant: str) -> None:
    """The partner's provisioning step: an access assignment for "Portal admins"."""
    partner = cloud.token(cloud.us["partner_tenant_id"])
    [rel] = cloud.get(f"{RELATIONSHIPS}?$filter=customer/tenantId eq '{tenant}'", partner).json()[
        "value"
    ]
    group = next(g for g in cloud.us["groups"] if g["name"] == gdap.ADMIN_GROUP)
    body = {
        "accessContainer": {
            "accessContainerId": group["id"],
            "accessContainerType": "securityGroup",
        },
        "accessDetails": {
            "unifiedRoles": [
                {"roleDefinitionId": gdap.ROLE_IDS[name]}
                for name in (
                    "Directory Readers",
                    "Cloud Application Administrator",
                    "Privileged Role Administrator",
                )
            ]
        },
    }
    created = cloud.post(f"{RELATIONSHIPS}/{rel['id']}/accessAssignments", partner, body)
    assert created.status_code == 201, created.text


def test_a_created_customer_gets_working_client_credentials_through_consent_and_app_roles(
    cloud,
):
    cloud.sim.faults(propagation_delay=DELAY)
    cloud.sim._call("POST", "/_sim/gdap/default-roles", {"roles": NEW_CUSTOMER_ROLES})
    pc_app = cloud.token(cloud.us["partner_tenant_id"], PARTNER_CENTER)
    created = cloud.session.post(
        f"{cloud.partner_center}/v1/customers",
        json=new_customer("endtoendco"),
        headers={"Authorization": f"Bearer {pc_app}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    tenant = created.json()["id"]

    # A new customer: no service principal of the app there.
    assert 700016 in error_codes(client_credentials(cloud, tenant))
    # Partner Center assigns no group on its own: the admin holds no consent role there yet.
    admin_pc = pc_user_token(cloud, ADMIN)
    early = consent(cloud, tenant, admin_pc)
    assert (early.status_code, early.json()["description"]) == (403, consents.NOT_AUTHORIZED)

    wait_for_propagation()  # the relationship is active: access assignments may be made
    give_portal_admins_access(cloud, tenant)
    wait_for_propagation()  # the assignment is active: the admin holds its roles

    accepted = consent(cloud, tenant, admin_pc)
    assert accepted.status_code == 201, accepted.text
    # Not propagated yet: a delegated token is still refused for want of consent.
    pending = delegated(cloud, ADMIN, tenant, ["https://graph.microsoft.com/.default"])
    assert 65001 in error_codes(pending) and pending["suberror"] == "consent_required"
    assert 700016 in error_codes(client_credentials(cloud, tenant))

    wait_for_propagation()
    admin = delegated_token(cloud, ADMIN, tenant)
    assert set(claims(admin)["scp"].split()) == set(CONSENT_SCOPES)
    assert cloud.get("/v1.0/users?$top=1", admin).status_code == 200
    roleless = client_credentials(cloud, tenant)["access_token"]
    assert "roles" not in claims(roleless)  # Entra omits a claim without a value
    assert cloud.get("/v1.0/users?$top=1", roleless).status_code == 403

    graph = cloud.get(f"/v1.0/servicePrincipals(appId='{GRAPH_APP}')", admin).json()
    app_id = cloud.us["app"]["client_id"]
    [mine] = cloud.get(f"/v1.0/servicePrincipals?$filter=appId eq '{app_id}'", admin).json()[
        "value"
    ]
    assert mine["id"] == claims(roleless)["oid"]
    offered = {r["value"]: r["id"] for r in graph["appRoles"]}
    for name in gdap.CONSENT_APP_ROLES:
        assert offered[name] == APP_ROLE_IDS[name]
        body = {"principalId": mine["id"], "resourceId": graph["id"], "appRoleId": offered[name]}
        path = f"/v1.0/servicePrincipals/{graph['id']}/appRoleAssignedTo"
        assigned = cloud.post(path, admin, body)
        assert assigned.status_code == 201, assigned.text

    app_token = client_credentials(cloud, tenant)["access_token"]
    assert sorted(claims(app_token)["roles"]) == sorted(gdap.CONSENT_APP_ROLES)
    assert cloud.get("/v1.0/users", app_token).status_code == 200
    assert cloud.get("/v1.0/deviceManagement/managedDevices", app_token).status_code == 200
    assert customer_info(cloud, tenant)["app_consent"] == {
        "consented": True,
        "scopes": list(CONSENT_SCOPES),
        "app_roles": list(gdap.CONSENT_APP_ROLES),
    }
