import json

import msal
from django.contrib.sessions.backends.db import SessionStore

from regions import token_caches


def _cache_with_an_access_token() -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    cache.deserialize(
        json.dumps(
            {
                "AccessToken": {
                    "k": {
                        "credential_type": "AccessToken",
                        "secret": "eyJhbGciOiJSUzI1NiJ9.payload-not-real.sig",
                        "home_account_id": "oid.tid",
                        "environment": "login.example",
                        "client_id": "c",
                        "target": "https://graph.microsoft.com/.default",
                        "realm": "tid",
                        "expires_on": "9999999999",
                    }
                }
            }
        )
    )
    cache.has_state_changed = True
    return cache


def test_the_session_holds_the_token_cache_only_encrypted():
    session = SessionStore()
    token_caches.session_cache_save(session, _cache_with_an_access_token())
    stored = session[token_caches.SESSION_KEY]
    assert "payload-not-real" not in stored
    assert "eyJhbGciOiJSUzI1NiJ9" not in stored
    assert "payload-not-real" in token_caches.session_cache_load(session).serialize()


def test_an_unchanged_cache_is_not_written_back():
    session = SessionStore()
    cache = _cache_with_an_access_token()
    cache.has_state_changed = False
    token_caches.session_cache_save(session, cache)
    assert token_caches.SESSION_KEY not in session


def test_a_cache_encrypted_with_an_unknown_key_loads_empty(settings):
    session = SessionStore()
    session[token_caches.SESSION_KEY] = "gAAAAAB-not-a-valid-fernet-token"
    assert token_caches.session_cache_load(session).serialize() in ("{}", "")
    assert token_caches.SESSION_KEY not in session
