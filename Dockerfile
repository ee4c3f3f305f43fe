# syntax=docker/dockerfile:1
# Two images from one file:
#   production (the default, last stage): the portal, worker and beat; no simulator, no
#     Werkzeug, no SQLAlchemy. docker build -t csp-portal .
#   demo: the same plus the simulator and its packages. docker build --target demo -t csp-portal-demo .
#
# The base image is pinned by digest. The first digest here was taken from public text (an
# ADR that rechecked the registry's manifest), not resolved on the machine that wrote this file
# (no Docker engine, no registry access): scripts/pin-base-image checks it and moves it to the
# current python:3.11-slim-bookworm. A wrong digest fails the pull; it never substitutes
# another image.
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

# --- packages, hash-locked (pip-compile --generate-hashes: scripts/lock-requirements) ---------
FROM ${BASE_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements.lock /tmp/
RUN /venv/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock

FROM deps AS deps-demo
COPY requirements-demo.lock /tmp/
RUN /venv/bin/pip install --require-hashes --no-deps -r /tmp/requirements-demo.lock

# --- the application's files, without the simulator ----------------------------------------
FROM ${BASE_IMAGE} AS source
COPY . /src
RUN rm -rf /src/simulator /src/requirements*.lock

# --- static files, collected once with production settings -----------------------------------
FROM deps AS static
WORKDIR /app
COPY --from=source /src /app
# Production settings refuse to start without every variable, but collectstatic needs no real
# secret and no database: placeholders that nothing connects to.
RUN DJANGO_SETTINGS_MODULE=portal.settings.production \
    DJANGO_SECRET_KEY=build-only-placeholder-never-used-at-run-time-0123456789 \
    PORTAL_ENCRYPTION_KEYS=x18ITJa-qveMSYPJ-ma0Tb3bOBIYtR6APw4FoJnmQVA= DJANGO_ALLOWED_HOSTS=build \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    /venv/bin/python manage.py collectstatic --noinput -v 0

# --- what every runtime image shares ---------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=portal.settings.production PORT=8000
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home portal \
 && mkdir -p /app/.data/simulator && chown -R portal:portal /app/.data
WORKDIR /app
EXPOSE 8000
# /livez answers without the database or the broker: "this process serves". Readiness
# (/readyz: database and broker) is for the load balancer or orchestrator, not for restarts.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('PORT', '8000'), timeout=4)"]
# The access log and the sizing (WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_TIMEOUT) are
# configured there: paths without query strings (no authorization codes).
CMD ["gunicorn", "portal.wsgi", "-c", "python:portal.gunicorn_conf"]

# --- demo: the production image plus the simulator -------------------------------------------
FROM runtime AS demo
COPY --from=deps-demo /venv /venv
COPY --from=static /app /app
COPY simulator /app/simulator
USER portal

# --- production (default target) -------------------------------------------------------------
FROM runtime AS production
COPY --from=deps /venv /venv
COPY --from=static /app /app
USER portal
