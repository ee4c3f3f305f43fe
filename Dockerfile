FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=portal.settings.production
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic needs settings but no real secrets.
RUN DJANGO_SECRET_KEY=build PORTAL_ENCRYPTION_KEYS=x18ITJa-qveMSYPJ-ma0Tb3bOBIYtR6APw4FoJnmQVA= \
    DJANGO_ALLOWED_HOSTS=build python manage.py collectstatic --noinput -v 0 \
 && useradd --system --uid 10001 portal && mkdir -p /app/.data && chown portal /app/.data
USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
