"""`make test`: PostgreSQL and Redis, as in production."""

import os

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-secret-key"  # noqa: S105
PORTAL_ENCRYPTION_KEYS = ["M1GAJnP3Ve7IzpEvzuDYOu2qosAZCpxzrmLedP3H8BA="]
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/portal"),
}
# As in production (base settings): persistent connections, checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
database_session_settings(DATABASES["default"])  # noqa: F405
# One test database per test process: parallel runs on one server must not drop each other's.
DATABASES["default"]["TEST"] = {
    "NAME": env("TEST_DATABASE_NAME", default=f"test_portal_{os.getpid()}")
}
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/15")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "portal-test",
    }
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CSP_FORM_ACTION = [*CSP_FORM_ACTION, "http://127.0.0.1:*", "http://localhost:*"]  # noqa: F405
# The simulator listens on 127.0.0.1 (production refuses loopback and plain http).
MICROSOFT_ALLOW_PRIVATE_HOSTS = env.bool("MICROSOFT_ALLOW_PRIVATE_HOSTS", default=True)
MICROSOFT_REQUIRE_HTTPS = env.bool("MICROSOFT_REQUIRE_HTTPS", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Static files come from the finders (no collectstatic in development and tests).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

# Consent waits for propagation in tests only as long as the simulator's delay set per test.
CONSENT_WAIT_SECONDS = 8
CONSENT_RUN_WAIT_SECONDS = 15
CONSENT_POLL_FIRST_SECONDS = 0.2
CONSENT_POLL_MAX_SECONDS = 1
# Tests that count sweeps start their own; tests/compliance/test_first_sweep.py turns it on.
COMPLIANCE_FIRST_SWEEP = env.bool("COMPLIANCE_FIRST_SWEEP", default=False)
# Nor does a sync refresh the search index by itself: tests refresh it when they need it (a
# refresh left running in the shared worker would outlive its test).
SEARCH_INDEX_AFTER_SYNC = False
# Alert notifications: mail to the locmem outbox, webhooks to receivers on 127.0.0.1, and
# retries without waiting.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALERT_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
ALERT_DELIVERY_BACKOFF_SECONDS = 1
ALERT_TEST_TIMEOUT_SECONDS = 2
ALERT_DELIVERY_TIMEOUT_SECONDS = 2
