FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=portal.settings.production
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic needs production settings (which refuse to start without every variable) but
# no real secrets and no database: placeholders that nothing connects to.
RUN DJANGO_SECRET_KEY=build-only-placeholder-never-used-at-run-time-0123456789 \
    PORTAL_ENCRYPTION_KEYS=x18ITJa-qveMSYPJ-ma0Tb3bOBIYtR6APw4FoJnmQVA= DJANGO_ALLOWED_HOSTS=build \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput -v 0 \
 && useradd --system --uid 10001 portal && mkdir -p /app/.data && chown portal /app/.data
USER portal
EXPOSE 8000
# The access log is configured there: paths without query strings (no authorization codes).
CMD ["gunicorn", "portal.wsgi", "-c", "python:portal.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
