from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        # Customers and compliance sit below us and may not import us: they send signals
        # when a sync or a sweep finishes, and the rules are evaluated here.
        from alerts import receivers

        receivers.connect()
