"""`manage.py rotate_encryption_keys`: step two of a rolling key rotation (README, Deploy)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.utils import timezone

from mscloud.identity import IdentityError
from portal import crypto
from provisioning.models import HeldCredentials
from regions.models import Region, SessionTokenCache
from regions.msal_app import region_app
from tests.factories import region_make, user_make

pytestmark = pytest.mark.django_db

OLD, NEW, OTHER = (Fernet.generate_key().decode() for _ in range(3))


@pytest.fixture
def keys(settings):
    def use(*keys: str) -> None:
        settings.PORTAL_ENCRYPTION_KEYS = list(keys)
        crypto._fernet.cache_clear()

    yield use
    crypto._fernet.cache_clear()


def _session_with_cache(blob: str) -> int:
    """A session's token row (regions.token_caches keeps them outside the session)."""
    return SessionTokenCache.objects.create(
        store="a" * 64, tenant="", sealed=blob, expires_at=timezone.now() + timedelta(hours=1)
    ).pk


def test_every_registered_ciphertext_moves_to_the_newest_key_and_the_old_key_can_go(keys):
    keys(OLD)
    region = region_make("us", client_secret="the-secret")
    session_row = _session_with_cache(crypto.encrypt("{}"))
    held = HeldCredentials.objects.create(
        user=user_make(region=region), tenant_id=uuid.uuid4(), sealed=crypto.encrypt("pw")
    )

    keys(NEW, OLD)  # step 1: the new key first, the old one still there
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)  # step 2

    assert "regions.Region.client_secret_encrypted: 1 re-encrypted" in out.getvalue()
    assert "sessions (token caches): 1 re-encrypted" in out.getvalue()
    assert "provisioning.HeldCredentials.sealed: 1 re-encrypted" in out.getvalue()
    keys(NEW)  # step 3: the old key removed
    assert Region.objects.get(pk=region.pk).client_secret == "the-secret"
    assert crypto.decrypt(SessionTokenCache.objects.get(pk=session_row).sealed) == "{}"
    assert crypto.decrypt(HeldCredentials.objects.get(pk=held.pk).sealed) == "pw"


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
    session_row = _session_with_cache(crypto.encrypt("{}"))
    keys(NEW)
    out = StringIO()

    call_command("rotate_encryption_keys", stdout=out)

    assert "1 unreadable dropped" in out.getvalue()
    assert not SessionTokenCache.objects.filter(pk=session_row).exists()


def test_a_region_secret_under_a_removed_key_is_a_sentence_not_a_500(keys):
    keys(OLD)
    region = region_make("us")
    keys(NEW)

    with pytest.raises(IdentityError, match="cannot be decrypted"):
        region_app(Region.objects.get(pk=region.pk))
