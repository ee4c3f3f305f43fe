from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"

    def ready(self) -> None:
        from compliance import receivers, tables  # noqa: F401 (tables register by name)

        receivers.connect()
