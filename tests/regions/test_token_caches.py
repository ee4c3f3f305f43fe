"""A session's MSAL cache in database rows: encrypted, per tenant, merged under parallel tabs,
and gone with the session."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import msal
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from customers.models import Customer
from regions import token_caches
from regions.clients import UserTokens, session_tokens, user_token
from regions.models import Region, SessionTokenCache
from tests.factories import HOST

AGENT = "agent@contosopartners.com"


def _cache_with(secret: str, *, realm: str = "tid", target: str = "https://graph/.default"):
    cache = msal.SerializableTokenCache()
    cache.deserialize(
        json.dumps(
            {
                "AccessToken": {
                    f"k-{realm}-{target}": {
                        "credential_type": "AccessToken",
                        "secret": secret,
                        "home_account_id": "oid.tid",
                        "environment": "login.example",
                        "client_id": "c",
                        "target": target,
                        "realm": realm,
                        "expires_on": "9999999999",
                    }
                },
                "RefreshToken": {
                    "rt": {
                        "credential_type": "RefreshToken",
                        "secret": f"rt-{secret}",
                        "home_account_id": "oid.tid",
                        "environment": "login.example",
                        "client_id": "c",
                    }
                },
            }
        )
    )
    cache.has_state_changed = True
    return cache


def _add(cache: msal.SerializableTokenCache, secret: str, *, target: str) -> None:
    """What redeeming the refresh token does to a loaded cache: a new access token (or one
    replaced), and the refresh token replaced by the new one Entra returned."""
    data = json.loads(cache.serialize())
    for kind, entries in json.loads(_cache_with(secret, target=target).serialize()).items():
        data.setdefault(kind, {}).update(entries)
    cache.deserialize(json.dumps(data))
    cache.has_state_changed = True


def _session() -> SessionStore:
    session = SessionStore()
    session.create()
    return session


def _entries(session_key: str, kind: str) -> dict[str, Any]:
    cache = token_caches.session_cache_load(SessionStore(session_key))
    return json.loads(cache.serialize() or "{}").get(kind, {})


def _token_requests(sim: Any) -> list[dict[str, Any]]:
    return [r for r in sim.requests()["requests"] if r["kind"] == "token"]


# --------------------------------------------------------------------------- storage


@pytest.mark.django_db
def test_the_session_holds_only_a_reference_and_the_rows_hold_the_tokens_encrypted():
    session = _session()
    token_caches.session_cache_save(session, _cache_with("eyJhbGciOiJSUzI1NiJ9.not-real.sig"))
    assert "not-real" not in json.dumps(dict(session.items()))
    rows = list(SessionTokenCache.objects.values_list("tenant", "sealed"))
    assert sorted(t for t, _ in rows) == ["", "tid"]
    assert not any("not-real" in sealed or "eyJhbGciOiJSUzI1NiJ9" in sealed for _, sealed in rows)
    assert "not-real" in token_caches.session_cache_load(session).serialize()


@pytest.mark.django_db
def test_an_unchanged_cache_is_not_written_back():
    session = _session()
    cache = _cache_with("unchanged")
    cache.has_state_changed = False
    token_caches.session_cache_save(session, cache)
    assert not SessionTokenCache.objects.exists()


@pytest.mark.django_db
def test_a_part_encrypted_with_an_unknown_key_loads_empty():
    session = _session()
    token_caches.session_cache_save(session, _cache_with("soon-unreadable"))
    SessionTokenCache.objects.update(sealed="gAAAAAB-not-a-valid-fernet-token")
    fresh = SessionStore(session.session_key)
    assert json.loads(token_caches.session_cache_load(fresh).serialize() or "{}") in ({}, None)


@pytest.mark.django_db
def test_a_load_for_one_tenant_reads_the_shared_part_and_that_tenant_only():
    session = _session()
    token_caches.session_cache_save(session, _cache_with("for-a", realm="tenant-a"))
    session.save()
    cache = token_caches.session_cache_load(SessionStore(session.session_key), "tenant-a")
    other = token_caches.session_cache_load(SessionStore(session.session_key), "tenant-b")
    assert '"for-a"' in cache.serialize()
    assert '"for-a"' not in other.serialize()
    assert "rt-for-a" in other.serialize()  # the refresh token is the account's, every tenant's


@pytest.mark.django_db
def test_a_stale_copy_of_the_session_saved_later_keeps_the_tokens_written_meanwhile():
    """Two requests of one session: the first stores a new token, the second (which read the
    session before) saves the session afterwards for another reason. Sessions are
    last-writer-wins; the token must not be."""
    session = _session()
    token_caches.session_cache_save(session, _cache_with("first"))
    session.save()
    first, second = SessionStore(session.session_key), SessionStore(session.session_key)
    second.load()
    second_cache = token_caches.session_cache_load(second, "tid")
    cache = token_caches.session_cache_load(first, "tid")
    _add(cache, "newer", target="https://graph/.default")
    token_caches.session_cache_save(first, cache)
    first.save()
    second["something_else"] = 1
    token_caches.session_cache_save(second, second_cache)  # unchanged: writes nothing
    second.save()
    held = [e["secret"] for e in _entries(session.session_key, "AccessToken").values()]
    assert held == ["newer"]


@pytest.mark.django_db
def test_two_writers_of_one_tenant_each_keep_their_token_and_the_later_refresh_token():
    session = _session()
    token_caches.session_cache_save(session, _cache_with("base"))
    session.save()
    a = token_caches.session_cache_load(SessionStore(session.session_key), "tid")
    b = token_caches.session_cache_load(SessionStore(session.session_key), "tid")
    _add(a, "graph", target="https://graph/.default")
    _add(b, "pc", target="https://pc/user_impersonation")
    token_caches.session_cache_save(SessionStore(session.session_key), a)
    token_caches.session_cache_save(SessionStore(session.session_key), b)
    held = sorted(e["secret"] for e in _entries(session.session_key, "AccessToken").values())
    assert held == ["graph", "pc"]
    refresh = [e["secret"] for e in _entries(session.session_key, "RefreshToken").values()]
    assert refresh == ["rt-pc"]


# --------------------------------------------------------------------------- lifetime


@pytest.mark.django_db
def test_a_deleted_session_takes_its_token_rows_with_it():
    kept, gone = _session(), _session()
    for session in (kept, gone):
        token_caches.session_cache_save(session, _cache_with(f"of-{session.session_key}"))
        session.save()
    SessionStore(gone.session_key).delete()
    assert SessionTokenCache.objects.count() == 2  # the other session's two parts
    assert f"of-{kept.session_key}" in token_caches.session_cache_load(kept).serialize()


@pytest.mark.django_db
def test_clearsessions_deletes_the_token_rows_of_expired_sessions():
    session = _session()
    token_caches.session_cache_save(session, _cache_with("expiring"))
    session.save()
    Session.objects.filter(pk=session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    call_command("clearsessions")
    assert not SessionTokenCache.objects.exists()


@pytest.mark.django_db
def test_rows_past_their_expiry_are_unreadable_and_purged_at_the_next_sign_in():
    session = _session()
    token_caches.session_cache_save(session, _cache_with("old"))
    SessionTokenCache.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert (
        "old" not in token_caches.session_cache_load(SessionStore(session.session_key)).serialize()
    )
    token_caches.session_account_set(_session(), "oid.tid")
    assert not SessionTokenCache.objects.exists()


def test_signing_out_deletes_the_sessions_token_rows(sign_in):
    client = sign_in(AGENT)
    assert SessionTokenCache.objects.exists()
    assert client.post("/signout/").status_code in (200, 302)
    assert not SessionTokenCache.objects.exists()


def test_signing_in_again_in_the_same_browser_leaves_one_store(sign_in):
    client = sign_in(AGENT)
    sign_in(AGENT, client=client)
    assert SessionTokenCache.objects.values("store").distinct().count() == 1
    assert Session.objects.count() == 1


# --------------------------------------------------------------------------- parallel tabs


def _reachable(customers: dict[str, list[Customer]], world: dict[str, Any]) -> list[str]:
    """Six US customers the agent reaches with delegated tokens (active relationships)."""
    active = [str(c.tenant_id) for c in customers["us"] if c.relationship_status == "active"]
    assert len(active) >= 6
    return active[:6]


def _tab(client: Client) -> Client:
    tab = Client(HTTP_HOST=HOST)
    tab.cookies = client.cookies
    return tab


def _in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = calls[i]()
        except BaseException as exc:  # reported by the assertions on the results
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_six_parallel_first_visits_make_one_token_request_per_tenant_and_then_none(
    sim, sign_in, customers, world
):
    client = sign_in(AGENT)
    tenants = _reachable(customers, world)
    before = sim.requests()["counters"]["token"]
    first = _in_parallel([lambda t=t: _tab(client).get(f"/customers/{t}/") for t in tenants])
    assert [getattr(r, "status_code", r) for r in first] == [200] * 6
    assert sim.requests()["counters"]["token"] - before == 6
    assert Counter(r["tenant"] for r in _token_requests(sim)[-6:]) == Counter(tenants)
    again = _in_parallel([lambda t=t: _tab(client).get(f"/customers/{t}/") for t in tenants])
    assert [getattr(r, "status_code", r) for r in again] == [200] * 6
    assert sim.requests()["counters"]["token"] - before == 6


@pytest.mark.django_db(transaction=True)
def test_two_parallel_redemptions_in_one_tenant_keep_both_tokens_and_a_usable_refresh_token(
    sim, sign_in
):
    """Both requests redeem the refresh token at the partner tenant (one for Graph, one for
    Partner Center), having read the cache before either wrote. Entra gives each a new refresh
    token and revokes neither: the later one is kept, and it still works.
    # Reference: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens
    """
    client = sign_in(AGENT)
    key = client.cookies["portal_session"].value
    region = Region.objects.get(slug="us")
    tenant = str(region.partner_tenant_id)
    both_loaded = threading.Barrier(2)

    def racing(session: SessionStore) -> UserTokens:
        inner = session_tokens(session)

        def load(tenant_id: str):
            loaded = inner.load(tenant_id)
            both_loaded.wait(10)
            return loaded

        return UserTokens(load=load, save=inner.save)

    def redeem(scopes: list[str]) -> Callable[[], str]:
        return lambda: user_token(
            tokens=racing(SessionStore(key)),
            region=region,
            tenant_id=tenant,
            scopes=scopes,
            force_refresh=True,
        )

    graph, pc = region.graph_scopes, region.partner_center_user_scopes
    before = sim.requests()["counters"]["token"]
    results = _in_parallel([redeem(graph), redeem(pc)])
    assert all(isinstance(r, str) for r in results), results
    assert sim.requests()["counters"]["token"] - before == 2
    assert len(_entries(key, "RefreshToken")) == 1
    for scopes in (graph, pc):  # both access tokens were kept: no further request
        user_token(
            tokens=session_tokens(SessionStore(key)), region=region, tenant_id=tenant, scopes=scopes
        )
    assert sim.requests()["counters"]["token"] - before == 2
    # The refresh token kept is redeemable.
    user_token(
        tokens=session_tokens(SessionStore(key)),
        region=region,
        tenant_id=tenant,
        scopes=graph,
        force_refresh=True,
    )
    assert _token_requests(sim)[-1]["status"] == 200
