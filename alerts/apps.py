from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        # Customers and compliance sit below us and may not import us: they send signals
        # when a sync or a sweep finishes, and the rules are evaluated here.
        from alerts import receivers
        from portal import crypto

        receivers.connect()
        # What alerts encrypts with PORTAL_ENCRYPTION_KEYS (manage.py rotate_encryption_keys).
        crypto.encrypted_field_register("alerts.NotificationChannel", "target_encrypted")
        crypto.encrypted_field_register("alerts.NotificationChannel", "secret_encrypted")
