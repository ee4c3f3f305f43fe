"""Where the region's tokens are kept: one MSAL cache per session (encrypted at rest, written
back only when it changed) and, for app-only tokens, one cache per (region, tenant) per process.
"""

from __future__ import annotations

import threading

from django.contrib.sessions.backends.base import SessionBase

from mscloud.identity import SerializableTokenCache, TokenCache
from portal import crypto
from regions.models import Region

SESSION_KEY = "_msal_cache"
HOME_ACCOUNT_KEY = "_home_account_id"


def session_cache_load(session: SessionBase) -> SerializableTokenCache:
    cache = SerializableTokenCache()
    blob = session.get(SESSION_KEY)
    if blob:
        try:
            cache.deserialize(crypto.decrypt(blob))
        except crypto.InvalidToken:
            # A rotated-away key: start empty; the user is asked to sign in again if needed.
            session.pop(SESSION_KEY, None)
    return cache


def session_cache_save(session: SessionBase, cache: SerializableTokenCache) -> None:
    if cache.has_state_changed:
        session[SESSION_KEY] = crypto.encrypt(cache.serialize())
        cache.has_state_changed = False


def session_account(session: SessionBase) -> str | None:
    """The MSAL home account id the session's delegated tokens belong to."""
    return session.get(HOME_ACCOUNT_KEY)


def session_account_set(session: SessionBase, home_account_id: str) -> None:
    session[HOME_ACCOUNT_KEY] = home_account_id


def session_clear(session: SessionBase) -> None:
    """Forget the session's tokens (sign-out)."""
    session.pop(SESSION_KEY, None)
    session.pop(HOME_ACCOUNT_KEY, None)


# App-only tokens are shared by every task in the process, cached per (region, tenant): MSAL's
# remove_tokens_for_client() clears a whole cache, and a retry must drop one tenant's token only.
# The second item is the app's own MSAL http cache, so its remembered refusals can be dropped.
_app_caches: dict[tuple[int, str], tuple[TokenCache, dict]] = {}
_app_caches_lock = threading.Lock()


def app_cache(region: Region, tenant_id: str) -> tuple[TokenCache, dict]:
    """The process's (token cache, MSAL http cache) for the region's app in `tenant_id`."""
    with _app_caches_lock:
        return _app_caches.setdefault((region.pk, str(tenant_id)), (TokenCache(), {}))
