"""Where the region's tokens are kept: a signed-in session's MSAL cache in database rows
(encrypted at rest, written back only when it changed) and, for app-only tokens, one cache
per (region, tenant) per process, with the tokens themselves shared by every process through
the Django cache (Redis), encrypted: a sweep's chunk on another worker, or a web process,
finds the token a first one got (issue 18: a warm sweep costs one round trip per customer).

A session's cache is split into parts (`SessionTokenCache` rows): the account's refresh
tokens and accounts, shared by every tenant, and one part per tenant with its access and ID
tokens. A request loads the shared part and the tenant's; a request that changed tokens
writes back only what it changed (its difference from what it loaded), merged into the
rows under their lock. So parallel tabs of one session each keep the token they got (one
token request per tenant per token lifetime), and nothing the session itself saves later —
a last-writer-wins blob — can drop a token. The session holds only a random id of its store.

Two requests that both redeemed the refresh token each got a new one; the later write is
kept. Both are valid: Entra does not revoke a refresh token when it is redeemed.
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone

from mscloud.identity import SerializableTokenCache, TokenCache
from portal import crypto
from regions.models import Region, SessionTokenCache

log = logging.getLogger(__name__)

# The session key holding the id of the session's token store (not the tokens).
SESSION_KEY = "_msal_cache"
HOME_ACCOUNT_KEY = "_home_account_id"
SHARED = ""  # the part every tenant uses: refresh tokens, accounts, app metadata
_SHARED_KINDS = ("RefreshToken", "Account", "AppMetadata")
# What a cache loaded here remembers: the parts as loaded (the baseline of its changes).
_LOADED = "_portal_loaded"
# Per session object (one request): the parts read or written so far, so the Graph calls of
# one page read the rows once.
_MEMO = "_portal_token_parts"

Parts = dict[str, dict[str, dict[str, Any]]]  # tenant -> kind -> key -> entry


def _store(session: SessionBase, *, create: bool = False) -> str | None:
    """The digest naming the session's rows; a new store when `create` and none yet."""
    store_id = session.get(SESSION_KEY)
    if not isinstance(store_id, str) or not store_id.startswith("s1."):
        if not create:
            return None
        store_id = "s1." + secrets.token_urlsafe(32)
        session[SESSION_KEY] = store_id
    return hashlib.sha256(store_id.encode()).hexdigest()


def _part_of(kind: str, entry: dict[str, Any]) -> str:
    if kind in _SHARED_KINDS:
        return SHARED
    return str(entry.get("realm") or SHARED).lower()


def _split(data: dict[str, Any]) -> Parts:
    parts: Parts = {}
    for kind, entries in data.items():
        if not isinstance(entries, dict):
            continue
        for key, entry in entries.items():
            part = _part_of(kind, entry) if isinstance(entry, dict) else SHARED
            parts.setdefault(part, {}).setdefault(kind, {})[key] = entry
    return parts


def _unseal(sealed: str) -> dict[str, dict[str, Any]]:
    if not sealed:
        return {}
    try:
        return json.loads(crypto.decrypt(sealed))
    except (crypto.InvalidToken, ValueError):
        # A rotated-away key: that part starts empty; the user signs in again if needed.
        return {}


def _memo(session: SessionBase) -> dict[str, dict[str, dict[str, Any]]]:
    memo = getattr(session, _MEMO, None)
    if memo is None:
        memo = {}
        setattr(session, _MEMO, memo)
    return memo


def _parts_read(session: SessionBase, store: str, tenants: list[str] | None) -> Parts:
    memo = _memo(session)
    if tenants is None:
        rows = SessionTokenCache.objects.filter(store=store, expires_at__gt=timezone.now())
        memo.update({row.tenant: _unseal(row.sealed) for row in rows})
        return {t: memo[t] for t in sorted(memo)}
    missing = [t for t in tenants if t not in memo]
    if missing:
        rows = SessionTokenCache.objects.filter(
            store=store, tenant__in=missing, expires_at__gt=timezone.now()
        )
        found = {row.tenant: _unseal(row.sealed) for row in rows}
        memo.update({t: found.get(t, {}) for t in missing})
    return {t: memo[t] for t in sorted(tenants) if memo.get(t)}


def session_cache_load(
    session: SessionBase, tenant_id: str | None = None
) -> SerializableTokenCache:
    """The session's MSAL cache: the shared part and `tenant_id`'s (all parts without it)."""
    cache = SerializableTokenCache()
    store = _store(session)
    parts: Parts = {}
    if store is not None:
        tenants = None if tenant_id is None else sorted({SHARED, str(tenant_id).lower()})
        parts = _parts_read(session, store, tenants)
    merged: dict[str, dict[str, Any]] = {}
    for part in parts.values():
        for kind, entries in part.items():
            merged.setdefault(kind, {}).update(entries)
    if merged:
        cache.deserialize(json.dumps(merged))
    setattr(cache, _LOADED, _split(json.loads(json.dumps(merged))))
    cache.has_state_changed = False
    return cache


def _merge(
    current: dict[str, dict[str, Any]],
    ours: dict[str, dict[str, Any]],
    baseline: dict[str, dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """`current` (the row now) with our changes since `baseline` (the row as we loaded it):
    entries we added or changed win, entries we removed go, the others' changes stay."""
    result = {kind: dict(entries) for kind, entries in current.items()}
    for kind in set(ours) | set(baseline):
        mine, before = ours.get(kind, {}), baseline.get(kind, {})
        target = result.setdefault(kind, {})
        for key, entry in mine.items():
            if before.get(key) != entry:
                target[key] = entry
        for key in before:
            if key not in mine:
                target.pop(key, None)
    return {kind: entries for kind, entries in result.items() if entries}


def session_cache_save(session: SessionBase, cache: SerializableTokenCache) -> None:
    """Write back the parts of `cache` that changed since it was loaded, merged under the
    rows' lock with what parallel requests wrote meanwhile. Nothing when nothing changed."""
    if not cache.has_state_changed:
        return
    store = _store(session, create=True)
    assert store is not None
    baseline: Parts = getattr(cache, _LOADED, None) or {}
    ours = _split(json.loads(cache.serialize() or "{}"))
    changed = sorted(t for t in set(ours) | set(baseline) if ours.get(t, {}) != baseline.get(t, {}))
    if changed:
        _parts_write(session, store, changed, ours, baseline)
    setattr(cache, _LOADED, ours)
    cache.has_state_changed = False


def _expires_at() -> Any:
    return timezone.now() + timedelta(seconds=settings.SESSION_ABSOLUTE_TIMEOUT)


def _parts_write(
    session: SessionBase, store: str, tenants: list[str], ours: Parts, baseline: Parts
) -> None:
    expires_at = _expires_at()
    with transaction.atomic():
        # Rows nobody wrote yet exist (empty) before the lock is taken: two first writers of
        # one tenant then queue on the same row instead of one failing on the unique key.
        SessionTokenCache.objects.bulk_create(
            [SessionTokenCache(store=store, tenant=t, expires_at=expires_at) for t in tenants],
            ignore_conflicts=True,
        )
        rows = list(
            SessionTokenCache.objects.select_for_update()
            .filter(store=store, tenant__in=tenants)
            .order_by("tenant")
        )
        memo = _memo(session)
        for row in rows:
            current = _unseal(row.sealed) if row.expires_at > timezone.now() else {}
            merged = _merge(current, ours.get(row.tenant, {}), baseline.get(row.tenant, {}))
            row.sealed = crypto.encrypt(json.dumps(merged)) if merged else ""
            row.expires_at = expires_at
            memo[row.tenant] = merged
        SessionTokenCache.objects.bulk_update(rows, ["sealed", "expires_at", "updated_at"])


def session_account(session: SessionBase) -> str | None:
    """The MSAL home account id the session's delegated tokens belong to."""
    return session.get(HOME_ACCOUNT_KEY)


def session_account_set(session: SessionBase, home_account_id: str) -> None:
    """A partner sign-in: the session's delegated tokens are this account's, in a new store
    (the previous store's rows are deleted; tokens of two sign-ins never mix)."""
    session_clear(session)
    session_caches_purge()
    session[HOME_ACCOUNT_KEY] = home_account_id
    _store(session, create=True)


def session_clear(session: SessionBase) -> None:
    """Forget the session's tokens (sign-out): its rows are deleted."""
    store = _store(session)
    if store is not None:
        SessionTokenCache.objects.filter(store=store).delete()
    setattr(session, _MEMO, {})
    session.pop(SESSION_KEY, None)
    session.pop(HOME_ACCOUNT_KEY, None)


def session_store_delete(session_data: dict[str, Any]) -> int:
    """Delete the token rows of a session being deleted (its decoded data); how many."""
    store_id = session_data.get(SESSION_KEY)
    if not isinstance(store_id, str) or not store_id.startswith("s1."):
        return 0
    digest = hashlib.sha256(store_id.encode()).hexdigest()
    deleted, _ = SessionTokenCache.objects.filter(store=digest).delete()
    return deleted


def session_caches_purge() -> int:
    """Delete token rows past their expiry (their session vanished unseen); how many."""
    deleted, _ = SessionTokenCache.objects.filter(expires_at__lte=timezone.now()).delete()
    if deleted:
        log.info("purged %d expired session token rows", deleted)
    return deleted


# App-only tokens are shared by every task in the process, cached per (region, tenant): MSAL's
# remove_tokens_for_client() clears a whole cache, and a retry must drop one tenant's token only.
# The second item is the app's own MSAL http cache, so its remembered refusals can be dropped.
_app_caches: dict[tuple[int, str], tuple[TokenCache, dict]] = {}
_app_caches_lock = threading.Lock()


def app_cache(region: Region, tenant_id: str) -> tuple[TokenCache, dict]:
    """The process's (token cache, MSAL http cache) for the region's app in `tenant_id`."""
    with _app_caches_lock:
        return _app_caches.setdefault((region.pk, str(tenant_id)), (TokenCache(), {}))


# App-only tokens shared between processes: one entry per (region, app, tenant) holding a
# token per scope set, encrypted with the portal's keys (a key rotated away reads as a miss).
# Kept until APP_TOKEN_MARGIN before the token expires, so no process is handed one that
# expires in flight.
APP_TOKEN_MARGIN = 300
_SHARED_PREFIX = "apptoken:v1"


def _shared_key(region: Region, tenant_id: str) -> str:
    """Named by the region's app as configured now: another client id, credential, login
    host (or a database created anew, reusing the pk) never finds these tokens."""
    configured = "|".join(
        str(v)
        for v in (
            region.pk,
            region.created_at.isoformat() if region.created_at else "",
            str(region.client_id).lower(),
            region.login_host,
            region.credential_type,
            region.client_secret_encrypted,
            region.certificate_thumbprint,
        )
    )
    app = hashlib.sha256(configured.encode()).hexdigest()[:24]
    return f"{_SHARED_PREFIX}:{app}:{tenant_id.lower()}"


def _scopes_key(scopes: list[str]) -> str:
    return " ".join(sorted(s.lower() for s in scopes))


# What this process last read from (or wrote to) the shared entries, so a chunk's every call
# does not pay a cache round trip and a decryption for the token it already has: kept while
# the token is good for APP_TOKEN_MARGIN, dropped with the shared entry (app_token_unshare).
# Another process's drop reaches this one at its own next authorization error, as with MSAL's
# cache.
_here: dict[str, dict[str, dict[str, Any]]] = {}
_here_lock = threading.Lock()


def process_forget() -> None:
    """Forget every app token this process holds (its MSAL caches and its copies of shared
    ones), as a new process starts: the shared ones stay in the cache."""
    with _app_caches_lock:
        _app_caches.clear()
    with _here_lock:
        _here.clear()


def _usable(entry: dict[str, Any] | None) -> str | None:
    now = timezone.now().timestamp()
    if not entry or float(entry.get("expires_at", 0)) - APP_TOKEN_MARGIN <= now:
        return None
    token = entry.get("access_token")
    return token if isinstance(token, str) and token else None


def _shared_read(key: str) -> dict[str, dict[str, Any]]:
    from django.core.cache import cache

    try:
        sealed = cache.get(key)
    except Exception as exc:  # the cache is down: the process's own tokens still work
        log.warning("shared app tokens unavailable: %s", type(exc).__name__)
        return {}
    return _unseal(sealed) if isinstance(sealed, str) else {}


def app_token_shared(*, region: Region, tenant_id: str, scopes: list[str]) -> str | None:
    """A token another process (or this one) got for the app in `tenant_id` with `scopes`,
    still valid for APP_TOKEN_MARGIN seconds; None when there is none. This process's copy
    first, then the cache's."""
    key, wanted = _shared_key(region, tenant_id), _scopes_key(scopes)
    token = _usable(_here.get(key, {}).get(wanted))
    if token is not None:
        return token
    entries = _shared_read(key)
    token = _usable(entries.get(wanted))
    if token is not None:
        with _here_lock:
            _here[key] = entries
    return token


def app_token_share(
    *, region: Region, tenant_id: str, scopes: list[str], token: str, expires_in: float
) -> None:
    """Offer a token MSAL just got to every process, until shortly before it expires."""
    from django.core.cache import cache

    ttl = int(expires_in) - APP_TOKEN_MARGIN
    if ttl <= 0:
        return
    key = _shared_key(region, tenant_id)
    entries = _shared_read(key)
    now = timezone.now().timestamp()
    entries = {k: v for k, v in entries.items() if float(v.get("expires_at", 0)) > now}
    entries[_scopes_key(scopes)] = {"access_token": token, "expires_at": now + expires_in}
    with _here_lock:
        _here[key] = entries
    longest = max(float(v["expires_at"]) for v in entries.values()) - now - APP_TOKEN_MARGIN
    try:
        cache.set(key, crypto.encrypt(json.dumps(entries)), timeout=max(1, int(longest)))
    except Exception as exc:  # the cache is down: only the sharing is lost
        log.warning("could not share an app token: %s", type(exc).__name__)


def app_token_unshare(*, region: Region, tenant_id: str) -> None:
    """Forget the shared tokens of the app in `tenant_id` (an authorization error: the next
    process to ask must get a new one from Entra)."""
    from django.core.cache import cache

    key = _shared_key(region, tenant_id)
    with _here_lock:
        _here.pop(key, None)
    try:
        cache.delete(key)
    except Exception as exc:
        log.warning("could not forget a shared app token: %s", type(exc).__name__)
