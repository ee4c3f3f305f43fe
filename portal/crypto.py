"""Symmetric encryption at rest for token caches and region secrets (Fernet, key rotation)."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ("InvalidToken", "decrypt", "encrypt")


@cache
def _fernet() -> MultiFernet:
    keys = settings.PORTAL_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("PORTAL_ENCRYPTION_KEYS is empty: set at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "PORTAL_ENCRYPTION_KEYS must hold url-safe base64 32-byte Fernet keys."
        ) from exc


def encrypt(plaintext: str) -> str:
    """Encrypt with the newest key."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Decrypt with any configured key; raises InvalidToken when none fits."""
    return _fernet().decrypt(ciphertext.encode()).decode()
