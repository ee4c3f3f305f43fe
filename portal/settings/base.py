"""Settings shared by every environment; values come from the environment (django-environ)."""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]
DATA_DIR = BASE_DIR / ".data"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "portal",
    "accounts",
    "regions",
    "regionadmin",
    "customers",
    "compliance",
    "audit",
    "provisioning",
    "alerts",
    "search",
]

MIDDLEWARE = [
    # First: /livez and /readyz answer any Host, over http too, before anything reads either.
    "portal.probes.ProbeMiddleware",
    "portal.metrics.MetricsMiddleware",
    "portal.requestid.RequestIdMiddleware",
    "portal.middleware.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # With DEBUG on (the demo), a 404 is the portal's page, not Django's list of every URL.
    "portal.middleware.DebugNotFoundMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.DenialAuditMiddleware",
]

# How many reverse proxies in front of the portal append to X-Forwarded-For (ingress, load
# balancer): the audit log's client IP is read that many hops from the right. 0: REMOTE_ADDR.
PORTAL_TRUSTED_PROXY_COUNT = env.int("PORTAL_TRUSTED_PROXY_COUNT", default=0)
# Requests refused because they reach into another region are audited, at most this many per
# user (or client address) a minute; the rest are counted in one "access.denied.throttled" row.
AUDIT_DENIALS_PER_MINUTE = env.int("AUDIT_DENIALS_PER_MINUTE", default=10)

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
# Nobody is a superuser: Django admin permissions come from the portal role (accounts/backends.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.RolePermissionBackend"]
LOGIN_URL = "signin"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.theme.theme_context",
                "portal.requestid.request_id_context",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'portal.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL's planner assumes spinning disks (random_page_cost 4): it then walks every
# customer of the region rather than the search's trigram indexes (45 ms against 15 ms at
# 50,000 customers). 1.1 is what PostgreSQL's manual suggests for SSDs, which managed
# databases run on. Empty: keep the server's setting.
# Reference: https://www.postgresql.org/docs/current/runtime-config-query.html
DATABASE_RANDOM_PAGE_COST = env("DATABASE_RANDOM_PAGE_COST", default="1.1").strip()
if DATABASE_RANDOM_PAGE_COST:
    try:
        _page_cost = float(DATABASE_RANDOM_PAGE_COST)
    except ValueError:
        _page_cost = -1.0
    if not 0 < _page_cost <= 100:
        raise ImproperlyConfigured(
            "DATABASE_RANDOM_PAGE_COST must be a number between 0 and 100, or empty for the "
            "database server's own setting"
        )


def database_session_settings(database: dict) -> dict:
    """`database` (a DATABASES entry) with the portal's PostgreSQL session settings."""
    if DATABASE_RANDOM_PAGE_COST and database["ENGINE"] == "django.db.backends.postgresql":
        database.setdefault("OPTIONS", {})["options"] = f"-c random_page_cost={_page_cost}"
    return database


database_session_settings(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions live server-side (database): the MSAL token cache rides in the session, encrypted,
# so signing out (session flush) also destroys every token the session held.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = "portal_session"
SESSION_COOKIE_HTTPONLY = True
# Lax, not Strict: the identity provider sends the browser back to /auth/callback/ with a
# cross-site top-level GET, and the session (holding the auth code flow) must come with it.
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_ABSOLUTE_TIMEOUT", default=8 * 3600)
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT = SESSION_COOKIE_AGE
# Admins and global admins change configuration: their sign-in lasts at most this long.
SESSION_ADMIN_ABSOLUTE_TIMEOUT = env.int("SESSION_ADMIN_ABSOLUTE_TIMEOUT", default=2 * 3600)
# How often a session's refresh token is redeemed at the partner tenant (accounts/recheck.py):
# a revoked grant ends the session and a changed app role takes effect within this time.
SESSION_RECHECK_SECONDS = env.int("SESSION_RECHECK_SECONDS", default=15 * 60)
# When Microsoft could not answer the re-check, ask again after this long (nothing is said).
SESSION_RECHECK_RETRY_SECONDS = env.int("SESSION_RECHECK_RETRY_SECONDS", default=60)
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Extra sources for the CSP form-action directive: the sign-in form redirects the browser to
# the region's authorize endpoint, and Chromium applies form-action to that redirect.
CSP_FORM_ACTION = env.list(
    "CSP_FORM_ACTION",
    default=[
        "https://login.microsoftonline.com",
        "https://login.microsoftonline.us",
        "https://login.partner.microsoftonline.cn",
    ],
)

# Fernet keys (comma-separated, newest first) that encrypt token caches and region secrets.
PORTAL_ENCRYPTION_KEYS = env.list("PORTAL_ENCRYPTION_KEYS", default=[])

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Microsoft calls: timeouts (connect, read) in seconds and the retry budget.
GRAPH_TIMEOUT = (
    env.float("GRAPH_CONNECT_TIMEOUT", default=3.05),
    env.float("GRAPH_READ_TIMEOUT", default=20),
)
GRAPH_MAX_ATTEMPTS = env.int("GRAPH_MAX_ATTEMPTS", default=3)
# Where Microsoft calls may go (mscloud/http.py): never a redirect; and, unless allowed here,
# https only and never to loopback, private, link-local (169.254.169.254: cloud metadata),
# unspecified or multicast addresses, checked at save (region form) and on every connection.
# Development and tests allow them: the simulator listens on 127.0.0.1.
MICROSOFT_ALLOW_PRIVATE_HOSTS = env.bool("MICROSOFT_ALLOW_PRIVATE_HOSTS", default=False)
MICROSOFT_REQUIRE_HTTPS = env.bool("MICROSOFT_REQUIRE_HTTPS", default=True)
GRAPH_MAX_RETRY_AFTER = env.float("GRAPH_MAX_RETRY_AFTER", default=5)

# Celery: JSON only, late acks and prefetch 1 so a killed worker's task is redelivered.
CELERY_BROKER_URL = env(
    "CELERY_BROKER_URL",
    default=REDIS_URL or f"sqla+sqlite:///{DATA_DIR / 'celery-broker.sqlite3'}",
)
CELERY_RESULT_BACKEND = env(
    "CELERY_RESULT_BACKEND",
    default=REDIS_URL or f"db+sqlite:///{DATA_DIR / 'celery-results.sqlite3'}",
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
# Nobody reads task results (progress lives in the database). Ignoring them also keeps a
# request that queues a job from waiting ~20 s on the Redis result store while Redis is down
# (Celery subscribes to each task's result when it is sent, retrying 20 times).
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep Django's LOGGING (and its redacting filter) in workers: Celery would replace it.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Redis redelivers an unacknowledged task after visibility_timeout; the embedded SQLAlchemy
# transport of `make run` takes no such option (it is passed to create_engine).
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": 3600} if CELERY_BROKER_URL.startswith("redis") else {}
)
CELERY_BEAT_SCHEDULE = {
    "sync-customers": {
        "task": "customers.tasks.customers_sync_all",
        "schedule": env.int("CUSTOMER_SYNC_INTERVAL", default=15 * 60),
    },
    "compliance-sweep": {
        "task": "compliance.tasks.compliance_sweep_scheduled",
        "schedule": env.int("COMPLIANCE_SWEEP_INTERVAL", default=4 * 3600),
    },
    "compliance-prune": {
        "task": "compliance.tasks.compliance_snapshots_prune",
        "schedule": env.int("COMPLIANCE_PRUNE_INTERVAL", default=24 * 3600),
    },
    # Expired sessions hold encrypted refresh tokens: delete them (and their tracked rows).
    "sessions-clear": {
        "task": "accounts.tasks.sessions_clear",
        "schedule": env.int("SESSIONS_CLEAR_INTERVAL", default=24 * 3600),
    },
}

# The weekly compliance report (compliance/report.py, sent by alerts/reports.py) goes to each
# region's active notification channels on a crontab, by default Monday 07:00 UTC
# (COMPLIANCE_REPORT_CRONTAB: "minute hour day-of-month month day-of-week"), or every
# COMPLIANCE_REPORT_INTERVAL seconds when that is set. Either way a channel gets each ISO
# week's report once: running it more often only sends to channels added since.
COMPLIANCE_REPORT_CRONTAB = env("COMPLIANCE_REPORT_CRONTAB", default="0 7 * * 1")
COMPLIANCE_REPORT_INTERVAL = env.int("COMPLIANCE_REPORT_INTERVAL", default=0)
_REPORT_CRON = COMPLIANCE_REPORT_CRONTAB.split()
if len(_REPORT_CRON) != 5:
    raise ImproperlyConfigured(
        "COMPLIANCE_REPORT_CRONTAB needs five fields, minute hour day-of-month month "
        'day-of-week, like "0 7 * * 1" (Monday 07:00 UTC).'
    )
CELERY_IMPORTS = ("alerts.report_tasks",)
CELERY_BEAT_SCHEDULE["compliance-report-weekly"] = {
    "task": "alerts.report_tasks.compliance_report_weekly",
    "schedule": COMPLIANCE_REPORT_INTERVAL
    or crontab(
        *_REPORT_CRON[:2],
        day_of_week=_REPORT_CRON[4],
        day_of_month=_REPORT_CRON[2],
        month_of_year=_REPORT_CRON[3],
    ),
}

# Customer syncs (customers/): a sync's lease, as for sweeps below (portal/runs.py). Its worker
# beats between Graph pages; one silent for a whole lease is taken over by the next
# customers_sync_run (customers_sync_watch re-sends it), and failed after MAX_ATTEMPTS claims.
CUSTOMER_SYNC_LEASE_SECONDS = env.int("CUSTOMER_SYNC_LEASE_SECONDS", default=120)
CUSTOMER_SYNC_MAX_ATTEMPTS = env.int("CUSTOMER_SYNC_MAX_ATTEMPTS", default=3)
# How often beat looks for syncs to take over or to send again (queued, message lost).
CUSTOMER_SYNC_WATCH_SECONDS = env.int("CUSTOMER_SYNC_WATCH_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["sync-customers-watch"] = {
    "task": "customers.tasks.customers_sync_watch",
    "schedule": CUSTOMER_SYNC_WATCH_SECONDS,
    "options": {"expires": CUSTOMER_SYNC_WATCH_SECONDS},
}

# The customer sync's per-customer calls, this many at once (threads of the sync's worker): the
# access assignments ($batch of 20 relationships) and the consent check of each active customer
# (an app token, cached per tenant for its lifetime, and one $batch: is consent drifting?).
# Each check is in its own tenant, so Microsoft's per-tenant limits are far; the partner
# tenant sees at most this many $batch at once.
CUSTOMER_SYNC_CONCURRENCY = env.int("CUSTOMER_SYNC_CONCURRENCY", default=32)
# A customer whose app consent the sync found working is checked again once that check is
# older than this (each tenant at 0.75-1.25x of it, so a big book's checks spread over several
# syncs rather than all falling due in one); one without working consent, every sync. So a
# consent withdrawn in the tenant shows within about this long, and a sync every 15 minutes
# checks a 10,000-customer book's consent about once an hour, not four times. 0: every sync.
CONSENT_RECHECK_SECONDS = env.int("CONSENT_RECHECK_SECONDS", default=3600)

# App consent (customers/consent.py). Partner Center's consent reaches the customer tenant
# after a propagation delay that may be minutes: "Consent the app" on a page waits at most
# CONSENT_WAIT_SECONDS (then says to run it again later), a background consent job
# CONSENT_RUN_WAIT_SECONDS per customer; polls start CONSENT_POLL_FIRST_SECONDS apart and
# double up to CONSENT_POLL_MAX_SECONDS.
CONSENT_WAIT_SECONDS = env.float("CONSENT_WAIT_SECONDS", default=30)
CONSENT_RUN_WAIT_SECONDS = env.float("CONSENT_RUN_WAIT_SECONDS", default=600)
CONSENT_POLL_FIRST_SECONDS = env.float("CONSENT_POLL_FIRST_SECONDS", default=2)
CONSENT_POLL_MAX_SECONDS = env.float("CONSENT_POLL_MAX_SECONDS", default=30)
# A consent job's lease (beats between customers and while waiting) and attempts limit; the
# admin's tokens lent to it live at most CONSENT_GRANT_TTL_SECONDS.
CONSENT_RUN_LEASE_SECONDS = env.int("CONSENT_RUN_LEASE_SECONDS", default=120)
CONSENT_RUN_MAX_ATTEMPTS = env.int("CONSENT_RUN_MAX_ATTEMPTS", default=3)
CONSENT_GRANT_TTL_SECONDS = env.int("CONSENT_GRANT_TTL_SECONDS", default=4 * 3600)
CONSENT_RUN_WATCH_SECONDS = env.int("CONSENT_RUN_WATCH_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["consent-runs-watch"] = {
    "task": "customers.tasks.customers_consent_watch",
    "schedule": CONSENT_RUN_WATCH_SECONDS,
    "options": {"expires": CONSENT_RUN_WATCH_SECONDS},
}

# Bulk actions (customers/bulk.py): a job's lease and attempts limit (as for sweeps below), the
# agent's tokens lent to it for at most BULK_GRANT_TTL_SECONDS, and the pace of its writes per
# tenant: Intune allows 200 writes / 20 s per tenant (the portal keeps headroom for agents
# clicking at the same time), Entra ID writes go by $batch of 20.
BULK_RUN_LEASE_SECONDS = env.int("BULK_RUN_LEASE_SECONDS", default=120)
BULK_RUN_MAX_ATTEMPTS = env.int("BULK_RUN_MAX_ATTEMPTS", default=3)
BULK_GRANT_TTL_SECONDS = env.int("BULK_GRANT_TTL_SECONDS", default=4 * 3600)
BULK_MAX_ITEMS = env.int("BULK_MAX_ITEMS", default=5000)
BULK_INTUNE_WRITES = env.int("BULK_INTUNE_WRITES", default=150)
BULK_INTUNE_WINDOW = env.float("BULK_INTUNE_WINDOW", default=20)
BULK_RUN_WATCH_SECONDS = env.int("BULK_RUN_WATCH_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["bulk-runs-watch"] = {
    "task": "customers.tasks.bulk_runs_watch",
    "schedule": BULK_RUN_WATCH_SECONDS,
    "options": {"expires": BULK_RUN_WATCH_SECONDS},
}

# Compliance sweeps (compliance/): how often is in CELERY_BEAT_SCHEDULE above.
# Customers read at once per sweep (threads); 20 matches the pooled HTTP session's size.
# Alerts (alerts/rules.py): a customer's compliance rate below this percentage, or down by
# this many points between two sweeps, opens an alert.
ALERT_COMPLIANCE_BELOW = env.int("ALERT_COMPLIANCE_BELOW", default=80)
ALERT_COMPLIANCE_DROP = env.int("ALERT_COMPLIANCE_DROP", default=10)
# Notifications of newly opened alerts (alerts/channels.py): each delivery is tried up to
# MAX_ATTEMPTS times, waiting BACKOFF seconds, then twice that, four times that… in between;
# a "Send test" from the region's notifications page waits TEST_TIMEOUT at most. Webhooks go
# to public https:// addresses only unless ALERT_WEBHOOK_ALLOW_PRIVATE_HOSTS (dev and tests).
ALERT_DELIVERY_MAX_ATTEMPTS = env.int("ALERT_DELIVERY_MAX_ATTEMPTS", default=5)
ALERT_DELIVERY_BACKOFF_SECONDS = env.int("ALERT_DELIVERY_BACKOFF_SECONDS", default=30)
ALERT_DELIVERY_TIMEOUT_SECONDS = env.float("ALERT_DELIVERY_TIMEOUT_SECONDS", default=10)
ALERT_TEST_TIMEOUT_SECONDS = env.float("ALERT_TEST_TIMEOUT_SECONDS", default=5)
ALERT_WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("ALERT_WEBHOOK_ALLOW_PRIVATE_HOSTS", default=False)
# A worker claims a delivery's attempt for LEASE seconds (at least 4 x the timeout) so no other
# sends it meanwhile; beat looks every WATCH seconds for pending deliveries overdue by STUCK
# seconds (the worker died, the broker lost the message) and queues them again.
ALERT_DELIVERY_LEASE_SECONDS = env.int("ALERT_DELIVERY_LEASE_SECONDS", default=60)
ALERT_DELIVERY_STUCK_SECONDS = env.int("ALERT_DELIVERY_STUCK_SECONDS", default=5 * 60)
ALERT_DELIVERY_WATCH_SECONDS = env.int("ALERT_DELIVERY_WATCH_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["alert-deliveries-watch"] = {
    "task": "alerts.tasks.alert_deliveries_watch",
    "schedule": ALERT_DELIVERY_WATCH_SECONDS,
    "options": {"expires": ALERT_DELIVERY_WATCH_SECONDS},
}
# E-mail for alert notifications. The console backend (the default) prints messages to the
# log, for the demo; production sets EMAIL_BACKEND to the SMTP backend and EMAIL_HOST etc.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="csp-portal@localhost")
COMPLIANCE_CONCURRENCY = env.int("COMPLIANCE_CONCURRENCY", default=20)
# Microsoft's request budgets per (app, tenant), LIMIT/SECONDS, spent by every process through
# Redis (regions/throttle.py): Intune's device service, its device configuration service (the
# policy states the sweep reads; each item of a $batch counts) and its writes. Background work
# (sweeps, bulk runs) spends at most GRAPH_BACKGROUND_SHARE of each: agents' pages use the same
# app, and keep the rest.
# Reference: https://learn.microsoft.com/graph/throttling-limits#intune-service-limits
GRAPH_BUDGETS = {
    "intune-devices": env("GRAPH_BUDGET_INTUNE_DEVICES", default="2000/20"),
    "intune-configuration": env("GRAPH_BUDGET_INTUNE_CONFIGURATION", default="1000/20"),
    "intune-writes": env("GRAPH_BUDGET_INTUNE_WRITES", default="200/20"),
}
GRAPH_BACKGROUND_SHARE = env.float("GRAPH_BACKGROUND_SHARE", default=0.75)
if not 0 < GRAPH_BACKGROUND_SHARE <= 1:
    raise ImproperlyConfigured("GRAPH_BACKGROUND_SHARE must be a fraction in (0, 1]")
# A noncompliant device's policy states change only when it checks in (lastSyncDateTime): a
# sweep reads them again for devices that checked in since, and for all at least this often
# (a policy edited or unassigned shows at the device's next check-in, or by this refresh).
COMPLIANCE_POLICY_REFRESH_HOURS = env.int("COMPLIANCE_POLICY_REFRESH_HOURS", default=24)
COMPLIANCE_PAGE_SIZE = env.int("COMPLIANCE_PAGE_SIZE", default=1000)  # managedDevices $top
# The noncompliant list's filter choices; a sweep that writes devices outdates them at once.
NONCOMPLIANT_CHOICES_SECONDS = env.int("NONCOMPLIANT_CHOICES_SECONDS", default=300)
COMPLIANCE_CUSTOMER_ATTEMPTS = env.int("COMPLIANCE_CUSTOMER_ATTEMPTS", default=3)
COMPLIANCE_DEVICE_STALE_DAYS = env.int("COMPLIANCE_DEVICE_STALE_DAYS", default=30)
COMPLIANCE_DATA_STALE_HOURS = env.int("COMPLIANCE_DATA_STALE_HOURS", default=24)
COMPLIANCE_RETENTION_DAYS = env.int("COMPLIANCE_RETENTION_DAYS", default=90)
# A region's first customer sync queues its first sweep (compliance/receivers.py), so the
# dashboard is not empty until the schedule's next one.
COMPLIANCE_FIRST_SWEEP = env.bool("COMPLIANCE_FIRST_SWEEP", default=True)
# A sweep's lease: its worker refreshes a heartbeat every quarter of it; a sweep silent for a
# whole lease lost its worker (SIGKILL, OOM, lost machine) and another worker takes it over,
# skipping the customers already done. After COMPLIANCE_SWEEP_MAX_ATTEMPTS claims it is failed.
COMPLIANCE_SWEEP_LEASE_SECONDS = env.int("COMPLIANCE_SWEEP_LEASE_SECONDS", default=120)
COMPLIANCE_SWEEP_MAX_ATTEMPTS = env.int("COMPLIANCE_SWEEP_MAX_ATTEMPTS", default=3)
# A sweep fans out over the workers in chunks of this many customers, each its own task and
# lease: N workers finish about N times sooner, a killed worker's chunk alone is taken over.
COMPLIANCE_SWEEP_CHUNK = env.int("COMPLIANCE_SWEEP_CHUNK", default=100)
# Tenants' OpenID discovery documents shared by every process through the cache (0: off).
MICROSOFT_DISCOVERY_CACHE_SECONDS = env.int("MICROSOFT_DISCOVERY_CACHE_SECONDS", default=3600)
# How often beat looks for sweeps to take over or to send again (queued, message lost).
COMPLIANCE_SWEEP_WATCH_SECONDS = env.int("COMPLIANCE_SWEEP_WATCH_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["compliance-sweep-watch"] = {
    "task": "compliance.tasks.compliance_sweep_watch",
    "schedule": COMPLIANCE_SWEEP_WATCH_SECONDS,
    "options": {"expires": COMPLIANCE_SWEEP_WATCH_SECONDS},
}

# Provisioning (provisioning/): after a customer is created or accepts an invitation, wait for
# the partner relationship to reach the tenant, then the first calls; retries take a new token.
# Scheduled through the database (next_attempt_at), not ETA tasks: Redis would redeliver an ETA
# task held past visibility_timeout, and a killed worker's schedule must survive it.
PROVISIONING_WAIT_SECONDS = env.int("PROVISIONING_WAIT_SECONDS", default=180)
PROVISIONING_RETRY_SECONDS = env.int("PROVISIONING_RETRY_SECONDS", default=60)
PROVISIONING_MAX_ATTEMPTS = env.int("PROVISIONING_MAX_ATTEMPTS", default=5)
# Without the app's consent: look again (new token) this often, give up after this long.
PROVISIONING_CONSENT_POLL_SECONDS = env.int("PROVISIONING_CONSENT_POLL_SECONDS", default=300)
PROVISIONING_CONSENT_WAIT_SECONDS = env.int(
    "PROVISIONING_CONSENT_WAIT_SECONDS", default=14 * 24 * 3600
)
# How often beat looks for due runs, and how long a claimed attempt may run before another
# worker takes it over (the worker holding it was killed).
PROVISIONING_TICK_SECONDS = env.float("PROVISIONING_TICK_SECONDS", default=5)
PROVISIONING_LEASE_SECONDS = env.int("PROVISIONING_LEASE_SECONDS", default=300)
# Partner Center may take a while to create a tenant (connect, read) in seconds.
# Creation quotas, counted from the database (every process sees the same count): a new
# customer is a new tenant at Microsoft, and nobody creates dozens in an hour by hand.
PROVISIONING_CREATE_PER_USER_PER_HOUR = env.int("PROVISIONING_CREATE_PER_USER_PER_HOUR", default=5)
PROVISIONING_CREATE_PER_REGION_PER_DAY = env.int(
    "PROVISIONING_CREATE_PER_REGION_PER_DAY", default=50
)
PROVISIONING_CREATE_TIMEOUT = (3.05, env.float("PROVISIONING_CREATE_TIMEOUT", default=60))
CELERY_BEAT_SCHEDULE["provisioning-tick"] = {
    "task": "provisioning.tasks.provisioning_tick",
    "schedule": PROVISIONING_TICK_SECONDS,
    # A tick nobody took in time is worthless: the next one does the same work.
    "options": {"expires": PROVISIONING_TICK_SECONDS * 2},
}

# /metrics (portal/metrics.py): answered to a bearer METRICS_TOKEN or to a scraper whose
# REMOTE_ADDR is in METRICS_ALLOWED_NETWORKS (CIDRs); neither set: 404. Several processes per
# pod or machine: PROMETHEUS_MULTIPROC_DIR (an empty directory shared by them) in the env.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])

# LOG_FORMAT: "text" (one readable line; development and tests) or "json" (one JSON object
# per line, portal.logging.JsonFormatter; production's default). Workers log the same way.
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "portal.logging.RedactSecretsFilter"},
        "queryless": {"()": "portal.logging.QuerylessRequestLineFilter"},
        "request_id": {"()": "portal.requestid.RequestIdLogFilter"},
        "celery_task": {"()": "portal.logging.CeleryTaskFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "portal.logging.JsonFormatter"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["redact", "request_id", "celery_task"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact", "request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # MSAL logs request details at DEBUG; never let them through.
        "msal": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        # runserver's access lines: paths without query strings (/auth/callback/?code=…).
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["queryless"],
        },
    },
}
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="portal")

# Search across customers (search/). The index (users and Intune devices per customer, read
# as the app after each customer sync) answers for customers it holds no older than MAX_AGE;
# the others are asked live with the agent's token, CHUNK customers per request (each
# CONCURRENCY at once), at most LIVE_MAX_CUSTOMERS per search, answers cached per agent for
# LIVE_CACHE_SECONDS. A customer with more than MAX_PER_CUSTOMER users (or devices) is searched
# live rather than indexed. MIN_CHARS is 3: a trigram index needs three characters, and two
# would scan every row (120 ms for 200,000 users, bench/bench_search.py) to find thousands.
SEARCH_MIN_CHARS = env.int("SEARCH_MIN_CHARS", default=3)
SEARCH_RESULTS_MAX = env.int("SEARCH_RESULTS_MAX", default=50)
SEARCH_INDEX_AFTER_SYNC = env.bool("SEARCH_INDEX_AFTER_SYNC", default=True)
SEARCH_INDEX_MAX_AGE = env.int("SEARCH_INDEX_MAX_AGE", default=24 * 3600)
SEARCH_INDEX_CONCURRENCY = env.int("SEARCH_INDEX_CONCURRENCY", default=10)
SEARCH_INDEX_MAX_PER_CUSTOMER = env.int("SEARCH_INDEX_MAX_PER_CUSTOMER", default=50_000)
SEARCH_INDEX_LOCK_SECONDS = env.int("SEARCH_INDEX_LOCK_SECONDS", default=30 * 60)
SEARCH_LIVE_CHUNK = env.int("SEARCH_LIVE_CHUNK", default=10)
SEARCH_LIVE_CONCURRENCY = env.int("SEARCH_LIVE_CONCURRENCY", default=10)
SEARCH_LIVE_MAX_CUSTOMERS = env.int("SEARCH_LIVE_MAX_CUSTOMERS", default=100)
SEARCH_LIVE_CACHE_SECONDS = env.int("SEARCH_LIVE_CACHE_SECONDS", default=60)
# Who is searched how (the plan), per sign-in; a sync or an index refresh outdates it at once.
SEARCH_PLAN_CACHE_SECONDS = env.int("SEARCH_PLAN_CACHE_SECONDS", default=60)
