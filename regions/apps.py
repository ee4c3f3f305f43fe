from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "regions"

    def ready(self) -> None:
        from portal import crypto
        from regions.key_rotation import sessions_rotate

        # What regions encrypts with PORTAL_ENCRYPTION_KEYS (manage.py rotate_encryption_keys).
        crypto.encrypted_field_register("regions.Region", "client_secret_encrypted")
        crypto.encrypted_field_register("regions.Region", "certificate_key_encrypted")
        crypto.encrypted_field_register("regions.DelegatedGrant", "tokens_encrypted")
        crypto.encrypted_store_register("sessions (token caches)", sessions_rotate)
