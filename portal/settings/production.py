"""Production: every secret comes from the environment, with no default (missing = fail loudly).

This is also the settings module a process gets when DJANGO_SETTINGS_MODULE is not set
(manage.py, wsgi.py, celery.py): a forgotten variable fails closed, never into DEBUG with the
repository's development keys. Development and tests name their module explicitly.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from portal.startup import production_problems

from .base import *  # noqa: F403
from .base import env

# Before anything reads them: one sentence per missing or unsafe variable, all at once.
_problems = production_problems(os.environ)
if _problems:
    raise ImproperlyConfigured(
        "The portal cannot start with production settings: " + " ".join(_problems)
    )

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
PORTAL_ENCRYPTION_KEYS = env.list("PORTAL_ENCRYPTION_KEYS")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Probes and the health page answer over plain http too (load balancers, kubelets).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-portal_session"
CSRF_COOKIE_NAME = "__Host-csrftoken"

# Logs are JSON unless LOG_FORMAT=text: one object per line for the log collector.
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_FORMAT == "json" else "plain"  # noqa: F405

# Optional error reports (portal.logging.sentry_init): only with SENTRY_DSN and sentry-sdk.
if env("SENTRY_DSN", default=""):
    from portal.logging import sentry_init

    sentry_init(env("SENTRY_DSN"), environment=env("SENTRY_ENVIRONMENT", default="production"))
