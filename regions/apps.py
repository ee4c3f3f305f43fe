from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "regions"

    def ready(self) -> None:
        from django.contrib.sessions.models import Session
        from django.db.models.signals import post_delete

        from regions.signals import session_deleted

        # A session's token rows go with it: sign-out (flush), login's key cycle, an admin
        # ending sessions, clearsessions (its queryset delete sends this per session).
        post_delete.connect(session_deleted, sender=Session, dispatch_uid="regions.tokens")
