"""Who may call Graph: 401 for bad tokens, 403 without access or permission, 429 throttling."""

from __future__ import annotations

import json
import time

from .conftest import PARTNER_CENTER, SimClient, graph_error


def test_a_request_without_a_token_is_unauthorized(cloud: SimClient):
    response = cloud.session.get(f"{cloud.graph}/v1.0/users", timeout=10)
    assert response.status_code == 401
    assert graph_error(response)["code"] == "InvalidAuthenticationToken"


def test_a_token_with_a_bad_signature_is_unauthorized(cloud: SimClient):
    token = cloud.token(cloud.customer()["tenant_id"])
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[::-1]}"
    response = cloud.get("/v1.0/users", forged)
    assert response.status_code == 401
    assert graph_error(response)["code"] == "InvalidAuthenticationToken"


def test_an_expired_token_is_unauthorized_with_graphs_message(cloud: SimClient):
    tenant = cloud.customer()["tenant_id"]
    token = cloud.mint(tenant, exp=int(time.time()) - 60, nbf=int(time.time()) - 3600)
    error = graph_error(cloud.get("/v1.0/users", token))
    assert error["message"] == "Access token has expired or is not yet valid."


def test_a_partner_center_token_is_not_a_graph_token(cloud: SimClient):
    token = cloud.token(cloud.us["partner_tenant_id"], PARTNER_CENTER)
    assert cloud.get("/v1.0/organization", token).status_code == 401


def test_the_error_body_echoes_the_client_request_id(cloud: SimClient):
    response = cloud.session.get(
        f"{cloud.graph}/v1.0/users", headers={"client-request-id": "abc-123"}, timeout=10
    )
    assert graph_error(response)["innerError"]["client-request-id"] == "abc-123"
    assert response.headers["client-request-id"] == "abc-123"


def test_the_customer_with_an_expired_relationship_is_forbidden(cloud: SimClient):
    expired = cloud.customer("expired")
    # Entra no longer issues a token there; one obtained before the expiry still fails.
    token = cloud.mint(expired["tenant_id"])
    response = cloud.get("/v1.0/users", token)
    assert response.status_code == 403
    assert graph_error(response)["code"] == "Authorization_RequestDenied"


def test_an_app_token_without_the_needed_role_is_forbidden_in_intunes_own_shape(
    cloud: SimClient,
):
    """Intune answers code Forbidden with its JSON (`_version: 3`) in the message, naming the
    scopes. Reference: https://github.com/mondoohq/cnspec/issues/1708 (a 2025 capture)."""
    token = cloud.mint(cloud.customer()["tenant_id"], roles=["User.Read.All"])
    assert cloud.get("/v1.0/users?$top=1", token).status_code == 200
    response = cloud.get("/v1.0/deviceManagement/managedDevices", token)
    assert response.status_code == 403
    error = graph_error(response)
    assert error["code"] == "Forbidden"
    inner = json.loads(error["message"])
    assert inner["_version"] == 3
    assert inner["Message"].startswith("Application is not authorized to perform this operation")
    assert "DeviceManagementManagedDevices.Read.All" in inner["Message"]
    assert response.headers["Content-Type"].startswith("application/json")


def test_a_directory_read_without_the_permission_is_authorization_request_denied(
    cloud: SimClient,
):
    token = cloud.mint(
        cloud.customer()["tenant_id"], roles=["DeviceManagementManagedDevices.Read.All"]
    )
    response = cloud.get("/v1.0/users?$top=1", token)
    assert response.status_code == 403
    assert graph_error(response)["code"] == "Authorization_RequestDenied"


def test_a_token_issued_before_propagation_keeps_failing_until_a_new_one_is_fetched(
    cloud: SimClient,
):
    cloud.sim.faults(propagation_delay=1, propagation_mode="no_roles")
    partner_center_token = cloud.token(cloud.us["partner_tenant_id"], PARTNER_CENTER)
    created = cloud.session.post(
        f"{cloud.partner_center}/v1/customers",
        json=_new_customer("propagationtest"),
        headers={"Authorization": f"Bearer {partner_center_token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    tenant = created.json()["id"]
    cloud.sim.consent(tenant, consented=True)  # a created customer starts without consent
    early = cloud.token(tenant)
    assert cloud.get("/v1.0/users", early).status_code == 403
    time.sleep(1.2)
    assert cloud.get("/v1.0/users", early).status_code == 403  # no roles in that token
    assert cloud.get("/v1.0/users", cloud.token(tenant)).status_code == 200


def test_throttling_answers_429_with_retry_after(cloud: SimClient):
    tenant = cloud.customer()["tenant_id"]
    cloud.sim.faults(throttle={"limit": 2, "window": 30}, tenant=tenant)
    token = cloud.token(tenant)
    statuses = [cloud.get("/v1.0/organization", token) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert int(statuses[2].headers["Retry-After"]) >= 1
    assert graph_error(statuses[2])["code"] == "TooManyRequests"


def _new_customer(prefix: str) -> dict:
    return {
        "companyProfile": {"domain": f"{prefix}.onmicrosoft.com"},
        "billingProfile": {
            "culture": "en-US",
            "email": f"it@{prefix}.example",
            "language": "en",
            "companyName": f"{prefix.title()} Ltd",
            "defaultAddress": {
                "firstName": "Ada",
                "lastName": "Lovelace",
                "addressLine1": "1 Main Street",
                "city": "Seattle",
                "state": "WA",
                "postalCode": "98101",
                "country": "US",
            },
        },
    }
