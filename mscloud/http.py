"""The pooled `requests.Session` every Microsoft call goes through."""

from __future__ import annotations

import os
import threading

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import ErrorKind, MicrosoftError


def build_session(
    *, ca_bundle: str | None = None, pool_size: int = 20, user_agent: str = "csp-portal"
) -> requests.Session:
    """A session that verifies TLS with `ca_bundle` (or the system store) and nothing else."""
    session = requests.Session()
    # With trust_env on, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (set on this machine) silently
    # replace session.verify on every request, and proxies or .netrc would apply too.
    session.trust_env = False
    session.verify = ca_bundle or True
    # Our clients retry with Retry-After and jitter; urllib3 retrying underneath would multiply
    # attempts and hide the real status from them.
    adapter = HTTPAdapter(pool_maxsize=pool_size, max_retries=Retry(total=0, read=False))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


_sessions: dict[str | None, requests.Session] = {}
_lock = threading.Lock()


def shared_session(ca_bundle: str | None) -> requests.Session:
    """One pooled session per CA bundle per process, so connections are reused across calls."""
    with _lock:
        session = _sessions.get(ca_bundle)
        if session is None:
            session = _sessions[ca_bundle] = build_session(ca_bundle=ca_bundle)
        return session


def _forget_sessions_after_fork() -> None:
    # A forked child (Celery prefork, gunicorn --preload) must not reuse the parent's sockets:
    # both processes would read and write the same TLS stream. Drop them without closing.
    global _lock
    _lock = threading.Lock()
    _sessions.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_sessions_after_fork)


def json_get(url: str, *, ca_bundle: str | None, timeout: float) -> object:
    """GET a JSON document (e.g. a cloud's description of itself) with a fresh session;
    raises MicrosoftError (`unavailable`) when it cannot be read."""
    try:
        response = build_session(ca_bundle=ca_bundle).get(url, timeout=timeout)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        response = getattr(exc, "response", None)
        raise MicrosoftError(
            f"Could not read {url}: {exc}",
            status=response.status_code if response is not None else None,
            kind=ErrorKind.UNAVAILABLE,
        ) from exc
