"""Symmetric encryption at rest for token caches and region secrets (Fernet, key rotation).

Each app registers what it encrypts (`encrypted_field_register` for a model's text field,
`encrypted_store_register` for anything else, e.g. a session key) in its AppConfig.ready();
`manage.py rotate_encryption_keys` re-encrypts all of it with the newest key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = (
    "InvalidToken",
    "Rotation",
    "decrypt",
    "encrypt",
    "encrypted_field_register",
    "encrypted_store_register",
    "encrypted_stores",
    "rotate",
)


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


def rotate(ciphertext: str) -> str:
    """The same plaintext encrypted with the newest key; InvalidToken when no key fits."""
    return _fernet().rotate(ciphertext.encode()).decode()


@dataclass
class Rotation:
    """What rotating one store did: rows re-encrypted, and the objects no key decrypts."""

    rotated: int = 0
    unreadable: list[str] | None = None
    dropped: int = 0  # unreadable values the store could simply forget (session caches)

    def __post_init__(self) -> None:
        self.unreadable = self.unreadable or []


# name -> a function that rotates every ciphertext of that store and reports it.
_STORES: dict[str, Callable[[], Rotation]] = {}


def encrypted_store_register(name: str, rotate_all: Callable[[], Rotation]) -> None:
    """Register a store of ciphertexts (its owner knows how to read and write them)."""
    _STORES[name] = rotate_all


def encrypted_field_register(model_label: str, field: str) -> None:
    """Register a model's text field that holds one Fernet ciphertext per row (or "")."""

    def rotate_all() -> Rotation:
        from django.apps import apps
        from django.db import transaction

        model = apps.get_model(model_label)
        result = Rotation()
        for pk in model.objects.exclude(**{field: ""}).values_list("pk", flat=True).iterator():
            with transaction.atomic():
                row = model.objects.select_for_update().filter(pk=pk).values(field).first()
                if row is None or not row[field]:
                    continue
                try:
                    fresh = rotate(row[field])
                except InvalidToken:
                    result.unreadable.append(f"{model_label} {pk} ({field})")
                    continue
                model.objects.filter(pk=pk).update(**{field: fresh})
                result.rotated += 1
        return result

    encrypted_store_register(f"{model_label}.{field}", rotate_all)


def encrypted_stores() -> Iterator[tuple[str, Callable[[], Rotation]]]:
    yield from sorted(_STORES.items())
