"""App-only tokens are shared by every process through the cache (Redis), encrypted: a worker
that did not get a customer's token itself (a fresh one, or one handed another chunk) reads
it instead of asking Entra again, so a warm sweep costs one round trip per customer. An
authorization error's drop forgets the shared token too: the next process to ask gets a new
one from Entra. Another app configuration never finds them, and a cache that is down costs
only the sharing.

# Reference: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
#   (the token's expires_in; a client caches it and asks again when it expires)
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from regions import token_caches
from regions.clients import app_token, app_token_drop

pytestmark = pytest.mark.django_db


def _token_requests(sim) -> int:
    return sim.requests()["counters"]["token"]


def _a_customer(world) -> str:
    us = next(r for r in world["regions"] if r["slug"] == "us")
    return next(c["tenant_id"] for c in us["customers"] if c["relationship"]["status"] == "active")


def _shared(region, tenant: str) -> str | None:
    return token_caches.app_token_shared(
        region=region, tenant_id=tenant, scopes=region.graph_scopes
    )


def _fresh_process() -> None:
    """What another process has: none of this one's tokens."""
    token_caches.process_forget()


def test_a_process_without_the_token_reads_the_one_another_process_got(sim, world, regions):
    tenant = _a_customer(world)
    first = app_token(region=regions["us"], tenant_id=tenant)
    asked = _token_requests(sim)
    _fresh_process()

    again = app_token(region=regions["us"], tenant_id=tenant)

    assert again == first
    assert _token_requests(sim) == asked  # not one more request to Entra


def test_the_shared_token_is_encrypted_in_the_cache(sim, world, regions):
    tenant = _a_customer(world)
    token = app_token(region=regions["us"], tenant_id=tenant)

    stored = cache.get(token_caches._shared_key(regions["us"], tenant))

    assert isinstance(stored, str) and stored
    assert token not in stored and token.split(".")[1] not in stored


def test_a_drop_after_an_authorization_error_makes_every_process_ask_entra_anew(
    sim, world, regions
):
    tenant = _a_customer(world)
    first = app_token(region=regions["us"], tenant_id=tenant)
    app_token_drop(region=regions["us"], tenant_id=tenant)
    _fresh_process()
    asked = _token_requests(sim)

    renewed = app_token(region=regions["us"], tenant_id=tenant)

    assert _token_requests(sim) == asked + 1
    assert renewed != first


def test_a_process_reads_the_shared_token_once_then_uses_its_own_copy(
    sim, world, regions, monkeypatch
):
    tenant = _a_customer(world)
    first = app_token(region=regions["us"], tenant_id=tenant)
    _fresh_process()
    reads = []
    real = token_caches._shared_read
    monkeypatch.setattr(token_caches, "_shared_read", lambda key: reads.append(key) or real(key))

    tokens = {app_token(region=regions["us"], tenant_id=tenant) for _ in range(5)}

    assert tokens == {first}
    assert len(reads) == 1  # one cache read and decryption, not one a call


def test_a_drop_forgets_this_process_copy_of_the_shared_token(sim, world, regions):
    tenant = _a_customer(world)
    first = app_token(region=regions["us"], tenant_id=tenant)
    _fresh_process()
    assert app_token(region=regions["us"], tenant_id=tenant) == first  # the copy is held now

    app_token_drop(region=regions["us"], tenant_id=tenant)

    assert app_token(region=regions["us"], tenant_id=tenant) != first


def test_another_app_configuration_never_finds_the_shared_token(sim, world, regions):
    region = regions["us"]
    tenant = _a_customer(world)
    app_token(region=region, tenant_id=tenant)
    before = token_caches._shared_key(region, tenant)

    region.client_secret_encrypted = region.client_secret_encrypted + "x"  # a new credential

    assert token_caches._shared_key(region, tenant) != before
    assert _shared(region, tenant) is None


def test_a_token_close_to_expiry_is_not_handed_out(sim, world, regions, monkeypatch):
    region = regions["us"]
    tenant = _a_customer(world)
    token_caches.app_token_share(
        region=region,
        tenant_id=tenant,
        scopes=region.graph_scopes,
        token="short-lived",
        expires_in=token_caches.APP_TOKEN_MARGIN + 60,
    )
    assert _shared(region, tenant) == "short-lived"
    now = token_caches.timezone.now().timestamp()
    monkeypatch.setattr(
        token_caches.timezone,
        "now",
        lambda: __import__("datetime").datetime.fromtimestamp(
            now + 61, tz=__import__("datetime").UTC
        ),
    )

    assert _shared(region, tenant) is None


def test_a_cache_that_is_down_costs_only_the_sharing(sim, world, regions, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    tenant = _a_customer(world)

    first = app_token(region=regions["us"], tenant_id=tenant)
    asked = _token_requests(sim)
    second = app_token(region=regions["us"], tenant_id=tenant)

    assert first == second  # this process's own MSAL cache still answers
    assert _token_requests(sim) == asked
