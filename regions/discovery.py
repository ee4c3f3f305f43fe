"""The store behind mscloud's shared discovery documents: Django's cache (Redis in production),
so a worker or web process started cold finds the tenants' OpenID configurations the others
read, and a customer costs a token and its data, not a discovery request first."""

from __future__ import annotations

from django.core.cache import cache


class DiscoveryCache:
    """mscloud.http.DiscoveryStore on the default Django cache."""

    def get(self, key: str) -> bytes | None:
        value = cache.get(key)
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl: int) -> None:
        cache.set(key, value, ttl)
