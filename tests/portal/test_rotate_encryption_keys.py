"""`manage.py rotate_encryption_keys`: step two of a rolling key rotation (README, Deploy)."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command

from mscloud.identity import IdentityError
from portal import crypto
from regions.models import Region
from regions.msal_app import region_app
from regions.token_caches import SESSION_KEY
from tests.factories import region_make

pytestmark = pytest.mark.django_db

OLD, NEW, OTHER = (Fernet.generate_key().decode() for _ in range(3))


@pytest.fixture
def keys(settings):
    def use(*keys: str) -> None:
        settings.PORTAL_ENCRYPTION_KEYS = list(keys)
        crypto._fernet.cache_clear()

    yield use
    crypto._fernet.cache_clear()


def _session_with_cache(blob: str) -> str:
    store = SessionStore()
    store["signed_in_at"] = 1  # a session holds more than its token cache
    store[SESSION_KEY] = blob
    store.save()
    return store.session_key


def test_every_registered_ciphertext_moves_to_the_newest_key_and_the_old_key_can_go(keys):
    keys(OLD)
    region = region_make("us", client_secret="the-secret")
    session_key = _session_with_cache(crypto.encrypt("{}"))

    keys(NEW, OLD)  # step 1: the new key first, the old one still there
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)  # step 2

    assert "regions.Region.client_secret_encrypted: 1 re-encrypted" in out.getvalue()
    assert "sessions (token caches): 1 re-encrypted" in out.getvalue()
    keys(NEW)  # step 3: the old key removed
    assert Region.objects.get(pk=region.pk).client_secret == "the-secret"
    blob = Session.objects.get(session_key=session_key).get_decoded()[SESSION_KEY]
    assert crypto.decrypt(blob) == "{}"


def test_a_value_no_key_decrypts_is_named_the_rest_is_rotated_and_the_exit_is_non_zero(keys):
    keys(OTHER)
    lost = region_make("eu", client_secret="lost")
    keys(OLD)
    kept = region_make("us", client_secret="kept")
    keys(NEW, OLD)
    err = StringIO()

    with pytest.raises(CommandError, match="1 object"):
        call_command("rotate_encryption_keys", stdout=StringIO(), stderr=err)

    assert f"regions.Region {lost.pk} (client_secret_encrypted)" in err.getvalue()
    assert "lost" not in err.getvalue().replace(f"{lost.pk}", "")  # never the value
    keys(NEW)
    assert Region.objects.get(pk=kept.pk).client_secret == "kept"


def test_a_session_cache_no_key_decrypts_is_dropped_not_an_error(keys):
    keys(OTHER)
    session_key = _session_with_cache(crypto.encrypt("{}"))
    keys(NEW)
    out = StringIO()

    call_command("rotate_encryption_keys", stdout=out)

    assert "1 unreadable dropped" in out.getvalue()
    assert SESSION_KEY not in Session.objects.get(session_key=session_key).get_decoded()


def test_a_region_secret_under_a_removed_key_is_a_sentence_not_a_500(keys):
    keys(OLD)
    region = region_make("us")
    keys(NEW)

    with pytest.raises(IdentityError, match="cannot be decrypted"):
        region_app(Region.objects.get(pk=region.pk))
