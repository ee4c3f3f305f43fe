"""The Celery app: configured from Django settings under the CELERY_ namespace."""

import os

from celery import Celery

# Unset means production, which refuses to start without its secrets: development and
# tests name their settings module (scripts/run.sh, scripts/test.sh, pyproject.toml).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.production")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
