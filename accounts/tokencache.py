"""One MSAL token cache per session, encrypted at rest, written back only when it changed."""

import msal
from django.contrib.sessions.backends.base import SessionBase

from portal import crypto

SESSION_KEY = "_msal_cache"


def load(session: SessionBase) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    blob = session.get(SESSION_KEY)
    if blob:
        try:
            cache.deserialize(crypto.decrypt(blob))
        except crypto.InvalidToken:
            # A rotated-away key: start empty; the user is asked to sign in again if needed.
            session.pop(SESSION_KEY, None)
    return cache


def save(session: SessionBase, cache: msal.SerializableTokenCache) -> None:
    if cache.has_state_changed:
        session[SESSION_KEY] = crypto.encrypt(cache.serialize())
        cache.has_state_changed = False


def clear(session: SessionBase) -> None:
    session.pop(SESSION_KEY, None)
