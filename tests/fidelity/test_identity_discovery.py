"""OpenID Connect discovery and the JWKS (point 9), as Microsoft documents them."""

from __future__ import annotations

import pytest

from tests.fidelity.identity import region_of, signed_in


def _get(sim, path: str, **kwargs):
    return sim.new_session().get(f"{sim.base_url}{path}", timeout=10, **kwargs)


@pytest.mark.parametrize("alias", ["common", "organizations"])
def test_tenant_region_scope_is_null_for_the_aliases_and_set_for_a_tenant(sim, world, alias):
    """https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc — /common and
    /organizations are no tenant, so the document has no tenant geography."""
    us, eu = region_of(world, "us"), region_of(world, "eu")

    aliased = _get(sim, f"/{alias}/v2.0/.well-known/openid-configuration").json()
    us_doc = _get(sim, f"/{us['partner_tenant_id']}/v2.0/.well-known/openid-configuration").json()
    eu_doc = _get(sim, f"/{eu['partner_tenant_id']}/v2.0/.well-known/openid-configuration").json()

    assert "tenant_region_scope" in aliased and aliased["tenant_region_scope"] is None
    assert (us_doc["tenant_region_scope"], eu_doc["tenant_region_scope"]) == ("NA", "EU")


def test_every_endpoint_the_document_advertises_is_served(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc and
    https://learn.microsoft.com/entra/identity-platform/userinfo — userinfo answers a Graph
    user token with the user's claims; there is no device code flow, so no
    device_authorization_endpoint is advertised."""
    us = region_of(world)
    _, _, result = signed_in(sim, world)
    doc = _get(sim, f"/{us['partner_tenant_id']}/v2.0/.well-known/openid-configuration").json()

    assert "device_authorization_endpoint" not in doc
    info = sim.new_session().get(
        doc["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {result['access_token']}"},
        timeout=10,
    )
    assert info.status_code == 200, info.text
    body = info.json()
    assert body["sub"] == result["id_token_claims"]["sub"]
    assert body["name"] and body["given_name"] and body["family_name"]
    assert sim.new_session().get(doc["userinfo_endpoint"], timeout=10).status_code == 401


def test_jwks_keys_carry_the_issuer_they_sign_for(sim, world):
    """https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-the-issuer
    — each signing key names its issuer (`{tenantid}` template under /common), which a
    multi-tenant client checks a token's iss against."""
    us = region_of(world)
    tenant = us["partner_tenant_id"]
    doc = _get(sim, f"/{tenant}/v2.0/.well-known/openid-configuration").json()

    tenant_keys = sim.new_session().get(doc["jwks_uri"], timeout=10).json()["keys"]
    common_keys = _get(sim, "/common/discovery/v2.0/keys").json()["keys"]

    assert tenant_keys and all(k["issuer"] == doc["issuer"] for k in tenant_keys)
    assert all(k["issuer"].endswith("/{tenantid}/v2.0") for k in common_keys)
    assert {k["kid"] for k in tenant_keys} == {k["kid"] for k in common_keys}
