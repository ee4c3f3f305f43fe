"""Production settings that fail closed: what is wrong with the environment, as sentences.

Read by `portal.settings.production` before anything else (a web process, a worker or a
management command that finds one of these refuses to start, naming the variable) and by the
deploy check (`manage.py check --deploy`, portal/checks.py). No Django imports: settings use it.
"""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.fernet import Fernet

# Django's own rules for a strong SECRET_KEY (django/core/checks/security/base.py, W009).
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
SECRET_KEY_INSECURE_PREFIX = "django-insecure-"  # noqa: S105 - a prefix to refuse


def secret_key_problem(value: str | None) -> str | None:
    if not value:
        return (
            "DJANGO_SECRET_KEY is not set: set it to a random value of at least 50 characters "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )
    if (
        len(value) < SECRET_KEY_MIN_LENGTH
        or len(set(value)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or value.startswith(SECRET_KEY_INSECURE_PREFIX)
    ):
        return (
            "DJANGO_SECRET_KEY is too weak: use a random value of at least 50 characters with "
            "at least 5 different ones, not a 'django-insecure-' key "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )
    return None


def encryption_keys_problem(keys: list[str]) -> str | None:
    """Why PORTAL_ENCRYPTION_KEYS (comma-separated Fernet keys, newest first) cannot be used."""
    keys = [k.strip() for k in keys if k.strip()]
    if not keys:
        return (
            "PORTAL_ENCRYPTION_KEYS is empty: set it to one or more Fernet keys, newest first "
            '(python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())").'
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            return (
                f"PORTAL_ENCRYPTION_KEYS holds something that is not a Fernet key (key "
                f"{position} of {len(keys)}): each key is 32 bytes in url-safe base64, 44 "
                "characters ending in '='."
            )
    return None


def allowed_hosts_problem(hosts: list[str] | None) -> str | None:
    hosts = [h.strip() for h in hosts or [] if h.strip()]
    if not hosts:
        return (
            "DJANGO_ALLOWED_HOSTS is not set: set it to the host names the portal is served "
            "under, comma-separated (e.g. portal.example.com)."
        )
    if "*" in hosts:
        return (
            "DJANGO_ALLOWED_HOSTS contains '*': name the portal's host names instead, so a "
            "forged Host header cannot build password-reset or sign-in links elsewhere."
        )
    return None


def database_url_problem(url: str | None) -> str | None:
    if not url:
        return (
            "DATABASE_URL is not set: production needs PostgreSQL "
            "(postgres://user:password@host:5432/name), shared by every web and worker process."
        )
    if url.split(":", 1)[0].lower().startswith("sqlite"):
        return (
            "DATABASE_URL points at SQLite: production needs PostgreSQL, shared by every web "
            "and worker process (each would otherwise have a database of its own)."
        )
    return None


def redis_url_problem(url: str | None) -> str | None:
    if not url:
        return (
            "REDIS_URL is not set: production needs Redis (redis://host:6379/0) for the cache "
            "and the Celery broker; without it each process would keep its own memory and the "
            "broker would be a local SQLite file."
        )
    return None


def production_problems(environ: Mapping[str, str]) -> list[str]:
    """Every reason the environment is not fit for production, one sentence each."""

    def listed(name: str) -> list[str]:
        return [part for part in environ.get(name, "").split(",") if part.strip()]

    found = [
        secret_key_problem(environ.get("DJANGO_SECRET_KEY")),
        encryption_keys_problem(listed("PORTAL_ENCRYPTION_KEYS")),
        allowed_hosts_problem(listed("DJANGO_ALLOWED_HOSTS")),
        database_url_problem(environ.get("DATABASE_URL")),
        redis_url_problem(environ.get("REDIS_URL")),
    ]
    return [problem for problem in found if problem]
