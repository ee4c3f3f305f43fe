"""Intune's errors as Intune sends them, and the portal reading both shapes alike.

A failure here means the simulator drifted from Microsoft: Intune answers through Graph with
its own JSON (`_version: 3`) as the error's message — code Forbidden for a token without the
permission, UnknownError wrapping Intune's Forbidden for a user without the role, and the same
JSON for its other failures — never the directory's `Authorization_RequestDenied` or
`Request_ResourceNotFound` sentences.

Reference: https://learn.microsoft.com/graph/errors
Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-get
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from customers.errors import explain
from customers.models import Customer
from mscloud.errors import GRAPH_ERRORS, ErrorKind
from tests.simulator.graph.conftest import SimClient, graph_error

INTUNE = "/v1.0/deviceManagement/managedDevices"
READ_ALL = "DeviceManagementManagedDevices.Read.All"


def intune_json(message: str) -> dict[str, Any]:
    """Intune's own error object inside a Graph message (one or two levels deep)."""
    inner = json.loads(message)
    if "ErrorCode" in inner:  # UnknownError: Intune's Forbidden wrapped once more
        inner = json.loads(inner["Message"])
    assert inner["_version"] == 3, inner
    assert " - Operation ID (for customer support): " in inner["Message"]
    assert "manage.microsoft.com" in inner["Message"]
    return inner


@pytest.fixture
def cloud(sim: Any) -> SimClient:
    return SimClient(sim)


def agent_of(cloud: SimClient, username: str) -> dict[str, Any]:
    return next(a for a in cloud.info["agents"] if a["username"] == username)


def test_a_managed_device_intune_does_not_hold_is_intunes_404_not_the_directorys(cloud):
    """Intune's 404 carries its JSON (`_version: 3`) naming the device's URL, not Entra's
    "Resource '…' does not exist" sentence.
    Reference: https://learn.microsoft.com/graph/api/intune-devices-manageddevice-get
    Reference: https://github.com/microsoftgraph/powershell-intune-samples/issues/45
    """
    token = cloud.token(cloud.customer()["tenant_id"])
    missing = "00000000-0000-0000-0000-0000000000aa"
    response = cloud.get(f"{INTUNE}/{missing}", token)
    assert response.status_code == 404
    error = graph_error(response)
    assert error["code"] == "ResourceNotFound"
    inner = intune_json(error["message"])
    assert f"managedDevices%28%27{missing}%27%29" in inner["Message"]


def test_an_app_token_that_outlived_the_apps_access_is_refused_in_intunes_shape(cloud):
    """Past the token, Intune itself answers the refusal (code Forbidden, its JSON), as it does
    for a token without the permission; the portal says the same sentence as for the
    directory's 403.
    Reference: https://github.com/mondoohq/cnspec/issues/1708
    """
    expired = cloud.customer("expired")
    token = cloud.mint(expired["tenant_id"], roles=[READ_ALL, "Directory.Read.All"])
    response = cloud.get(INTUNE, token)
    assert response.status_code == 403
    error = graph_error(response)
    assert error["code"] == "Forbidden"
    assert intune_json(error["message"])["Message"].startswith("Application is not authorized")

    directory = cloud.get("/v1.0/users", token)
    assert graph_error(directory)["code"] == "Authorization_RequestDenied"
    customer = Customer(name="Contoso", tenant_id=expired["tenant_id"])
    intune_failure = GRAPH_ERRORS.build(403, response.json(), response.headers)
    directory_failure = GRAPH_ERRORS.build(403, directory.json(), directory.headers)
    assert intune_failure.kind == directory_failure.kind == ErrorKind.FORBIDDEN
    assert explain(intune_failure, customer) == explain(directory_failure, customer)


def test_a_delegated_token_that_outlived_the_relationship_is_intunes_unknown_error(cloud):
    """A user Intune refuses: code UnknownError, Intune's Forbidden wrapped in its message.
    Reference: https://github.com/AzureAD/microsoft-authentication-library-for-js/issues/7007
    """
    expired = cloud.customer("expired")
    agent = agent_of(cloud, "agent@contosopartners.com")
    token = cloud.mint(
        expired["tenant_id"],
        idtyp="user",
        oid=agent["object_id"],
        scp=f"{READ_ALL} Directory.Read.All",
        roles=None,
    )
    response = cloud.get(INTUNE, token)
    assert response.status_code == 403
    error = graph_error(response)
    assert error["code"] == "UnknownError"
    assert json.loads(error["message"])["ErrorCode"] == "Forbidden"
    intune_json(error["message"])


def test_the_portal_reads_intunes_sentence_without_its_json_or_support_trailer(cloud):
    """Both Intune shapes become one readable sentence: no JSON, no activity id, no Intune URL.
    Reference: https://learn.microsoft.com/graph/errors
    """
    tenant = cloud.customer()["tenant_id"]
    app_refusal = cloud.get(INTUNE, cloud.mint(tenant, roles=["User.Read.All"]))
    missing = cloud.get(f"{INTUNE}/00000000-0000-0000-0000-0000000000aa", cloud.token(tenant))
    for response, sentence in (
        (app_refusal, "Application is not authorized to perform this operation."),
        (missing, "An error has occurred."),
    ):
        failure = GRAPH_ERRORS.build(response.status_code, response.json(), response.headers)
        assert failure.message.startswith(sentence), failure.message
        for leak in ("_version", "{", "Activity ID", "manage.microsoft.com"):
            assert leak not in failure.message
        assert failure.code == response.json()["error"]["code"]


@pytest.mark.django_db
def test_the_overview_names_an_intune_refusal_in_words_not_intunes_json(sign_in, world, customers):
    """An agent whose group has no Intune role sees the other counts and, for Intune, words.
    Reference: https://github.com/AzureAD/microsoft-authentication-library-for-js/issues/7007
    """
    us = next(r for r in world["regions"] if r["slug"] == "us")
    l1 = next(a["username"] for a in world["agents"] if a["username"].startswith("l1@"))
    tenant = next(iter(next(g for g in us["groups"] if l1 in g["members"])["roles_by_customer"]))

    page = sign_in(l1).get(f"/customers/{tenant}/")

    html = page.content.decode()
    assert page.status_code == 200, html[:500]
    assert "managed_devices: An error has occurred." in html
    for leak in ("_version", "Activity ID", "manage.microsoft.com"):
        assert leak not in html
