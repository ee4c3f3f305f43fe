import os

from django.core.wsgi import get_wsgi_application

# Unset means production, which refuses to start without its secrets: development and
# tests name their settings module (scripts/run.sh, scripts/test.sh, pyproject.toml).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.production")

application = get_wsgi_application()
