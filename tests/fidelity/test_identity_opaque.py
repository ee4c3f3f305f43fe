"""Graph access tokens are opaque to clients (point 6): the portal never decodes one to
decide anything, so its pages work when Entra issues tokens a client cannot read.

Reference: https://learn.microsoft.com/entra/identity-platform/access-tokens ("access tokens
must be treated as opaque strings … Tokens that a Microsoft API receives might not always be
a JWT that can be decoded")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fidelity.identity import AGENT, active_customer, region_of

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = (
    "accounts",
    "audit",
    "compliance",
    "customers",
    "mscloud",
    "portal",
    "provisioning",
    "regionadmin",
    "regions",
)
# What reading a token's payload looks like in Python: PyJWT, or base64 of its second part.
DECODING = re.compile(r"^\s*(import jwt|from jwt\b)|jwt\.decode|\.split\(\"\.\"\)\[1\]", re.M)


def test_the_portals_pages_work_when_graph_access_tokens_are_opaque(sim, sign_in, world, customers):
    """https://learn.microsoft.com/entra/identity-platform/access-tokens — the portal signs in,
    lists a customer's users and devices and its overview with access tokens it cannot read."""
    sim.faults(opaque_access_tokens=True)
    customer = active_customer(region_of(world))
    client = sign_in(AGENT)

    for page in ("", "users/", "devices/"):
        response = client.get(f"/customers/{customer['tenant_id']}/{page}")
        assert response.status_code == 200, (page, response.content[:500])
    assert customer["domain"] in client.get(f"/customers/{customer['tenant_id']}/").content.decode()
    token = sim.app_token(region_of(world), customer["tenant_id"])
    assert token.count(".") == 0  # really not a JWT


def test_no_product_code_decodes_an_access_token():
    """https://learn.microsoft.com/entra/identity-platform/access-tokens — clients must not
    validate or decode access tokens. Which app roles the app holds in a tenant is asked of
    Graph (regions.clients.app_roles_granted: appRoleAssignments), never read from a token."""
    readers = sorted(
        str(path.relative_to(ROOT))
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and DECODING.search(path.read_text())
    )

    assert readers == []
