"""Tenants' OpenID discovery documents are shared by every process through the cache: a cold
process (no MSAL memory of its own) asks Entra for a token without reading the tenant's
discovery document again, so a customer costs two round trips cold (token, data), not three.
The setup check still reads the document afresh, and a store that is down costs nothing but
the saving.

# Reference: https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc (the
#   discovery document per tenant: /{tenant}/v2.0/.well-known/openid-configuration)
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from mscloud import http
from mscloud.identity import openid_configuration
from regions.msal_app import region_app, region_session

pytestmark = pytest.mark.django_db


def _discovery_reads(sim) -> int:
    return sim.requests()["counters"]["discovery"]


def _cold_token(region, tenant: str) -> dict:
    """What a freshly started worker does: a new MSAL app with an empty memory of its own."""
    return region_app(region, tenant=tenant, http_cache={}).token_for_client(
        scopes=["https://graph.microsoft.com/.default"]
    )


def _a_customer(world, slug: str = "us") -> str:
    region = next(r for r in world["regions"] if r["slug"] == slug)
    return next(
        c["tenant_id"] for c in region["customers"] if c["relationship"]["status"] == "active"
    )


def test_a_second_cold_process_gets_a_token_without_reading_discovery_again(sim, world, regions):
    cache.clear()
    tenant = _a_customer(world)
    before = _discovery_reads(sim)
    assert "access_token" in _cold_token(regions["us"], tenant)
    assert _discovery_reads(sim) == before + 1
    assert "access_token" in _cold_token(regions["us"], tenant)
    assert "access_token" in _cold_token(regions["us"], tenant)
    assert _discovery_reads(sim) == before + 1, "the two later ones found it in the cache"


def test_an_unknown_tenant_is_never_cached_and_refused_each_time(sim, world, regions):
    cache.clear()
    unknown = "00000000-0000-0000-0000-00000000beef"
    from mscloud.identity import IdentityError

    for _ in range(2):
        before = _discovery_reads(sim)
        with pytest.raises(IdentityError):
            _cold_token(regions["us"], unknown)
        assert _discovery_reads(sim) == before + 1


def test_the_setup_check_reads_the_document_afresh(sim, world, regions):
    cache.clear()
    region = regions["us"]
    tenant = _a_customer(world)
    _cold_token(region, tenant)
    before = _discovery_reads(sim)
    document = openid_configuration(
        login_host=region.login_host,
        tenant=tenant,
        session=region_session(region),
        timeout=5,
    )
    assert tenant in document["token_endpoint"]
    assert _discovery_reads(sim) == before + 1


class _DownStore:
    def get(self, key: str) -> bytes | None:
        raise ConnectionError("redis is down")

    def set(self, key: str, value: bytes, ttl: int) -> None:
        raise ConnectionError("redis is down")


def test_a_store_that_is_down_only_costs_the_saving(sim, world, regions):
    saved = http._discovery
    http.discovery_store_set(_DownStore())
    try:
        before = _discovery_reads(sim)
        assert "access_token" in _cold_token(regions["us"], _a_customer(world))
        assert _discovery_reads(sim) == before + 1
    finally:
        http._discovery = saved
