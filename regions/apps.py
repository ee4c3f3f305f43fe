from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "regions"

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib.sessions.models import Session
        from django.db.models.signals import post_delete

        from mscloud.http import discovery_store_set
        from portal import crypto
        from regions.discovery import DiscoveryCache
        from regions.key_rotation import token_caches_rotate
        from regions.signals import session_deleted

        # What regions encrypts with PORTAL_ENCRYPTION_KEYS (manage.py rotate_encryption_keys).
        crypto.encrypted_field_register("regions.Region", "client_secret_encrypted")
        crypto.encrypted_field_register("regions.Region", "certificate_key_encrypted")
        crypto.encrypted_field_register("regions.DelegatedGrant", "tokens_encrypted")
        crypto.encrypted_store_register("sessions (token caches)", token_caches_rotate)
        # A session's token rows go with it: sign-out (flush), login's key cycle, an admin
        # ending sessions, clearsessions (its queryset delete sends this per session).
        post_delete.connect(session_deleted, sender=Session, dispatch_uid="regions.tokens")
        # Tenants' OpenID discovery documents, read once for every process (Django's cache).
        if settings.MICROSOFT_DISCOVERY_CACHE_SECONDS > 0:
            discovery_store_set(DiscoveryCache(), ttl=settings.MICROSOFT_DISCOVERY_CACHE_SECONDS)
