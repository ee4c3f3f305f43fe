"""`make run`: local demo against the simulator, embedded defaults, no PostgreSQL/Redis needed."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
PORTAL_ENCRYPTION_KEYS = env.list(
    "PORTAL_ENCRYPTION_KEYS", default=["22n-WakiKpSKYT1UhRHToqfxL4W-KJstYfApvcNee8o="]
)
CSP_FORM_ACTION = [*CSP_FORM_ACTION, "http://127.0.0.1:*", "http://localhost:*"]  # noqa: F405
# The simulator listens on 127.0.0.1 (production refuses loopback and plain http).
MICROSOFT_ALLOW_PRIVATE_HOSTS = env.bool("MICROSOFT_ALLOW_PRIVATE_HOSTS", default=True)
MICROSOFT_REQUIRE_HTTPS = env.bool("MICROSOFT_REQUIRE_HTTPS", default=False)

# Static files come from the finders (no collectstatic in development and tests).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
