#!/usr/bin/env bash
# `make test`: lint, then the whole suite against real PostgreSQL, Redis, a Celery worker,
# the simulator and Debian's Chromium. Installs what it can; otherwise says what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/15}
export DJANGO_SETTINGS_MODULE=portal.settings.test
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for the browser tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Browser tests need Chromium at $CHROMIUM: run 'sudo apt-get install -y chromium'." >&2
    exit 2
  fi
fi

# axe-core (accessibility checks in tests/browser) comes from npm into a test-only folder;
# it is injected by the tests and never served to users.
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's nodejs and npm for the browser tests' tooling…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "Browser tests need npm for axe-core: run 'sudo apt-get install -y nodejs npm'." >&2
    exit 2
  fi
fi
(cd tests/browser/tooling && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

# tests/deploy runs deploy/backup/*.sh, which need PostgreSQL's client tools.
if ! command -v pg_dump >/dev/null || ! command -v pg_restore >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's postgresql-client for the backup tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null
  else
    echo "Backup tests need pg_dump and pg_restore: run 'sudo apt-get install -y postgresql-client'." >&2
    exit 2
  fi
fi

$PY - <<'PYEOF'
import os, socket, sys, urllib.parse
missing = []
for name, default_port in (("DATABASE_URL", 5432), ("REDIS_URL", 6379)):
    url = urllib.parse.urlsplit(os.environ[name])
    try:
        socket.create_connection((url.hostname, url.port or default_port), timeout=3).close()
    except OSError:
        missing.append(f"{name}={os.environ[name]}")
if missing:
    sys.exit("Tests need PostgreSQL and Redis; nothing answers at " + ", ".join(missing)
             + ". Start them (.ci/run does) or point DATABASE_URL/REDIS_URL elsewhere.")
PYEOF

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== django checks"
$PY manage.py check --fail-level WARNING
prod() {
  DJANGO_SETTINGS_MODULE=portal.settings.production \
  DJANGO_SECRET_KEY=ci-check-$(date +%s)-0123456789abcdefghijklmnopqrstuvwxyz \
  PORTAL_ENCRYPTION_KEYS=x18ITJa-qveMSYPJ-ma0Tb3bOBIYtR6APw4FoJnmQVA= \
  DJANGO_ALLOWED_HOSTS=portal.example.com "$@"
}
prod $PY manage.py check --deploy --fail-level WARNING
# The manifest storage fails on a missing file a template or stylesheet refers to.
prod $PY manage.py collectstatic --noinput -v 0
$PY manage.py makemigrations --check --dry-run >/dev/null || { echo "Missing migrations: run makemigrations." >&2; exit 1; }
echo "== pytest"
mkdir -p artifacts
# Playwright's sync API runs an event loop in the test thread; Django's ORM is safe there.
DJANGO_ALLOW_ASYNC_UNSAFE=true $PY -m pytest "$@"
