from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The project package as an app: its deploy checks and management commands."""

    name = "portal"

    def ready(self) -> None:
        from portal import checks  # noqa: F401 - registers the deploy checks
