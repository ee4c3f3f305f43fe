"""gunicorn's settings for the portal (`gunicorn -c python:portal.gunicorn_conf portal.wsgi`).

The access log names the path (`%(U)s`), never the request line with its query string
(`%(r)s`): /auth/callback/?code=… would put authorization codes in the log. No referrer
either: a page's address can carry the same.
"""

from portal.logging import gunicorn_logconfig

access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
accesslog = "-"
# JSON (or LOG_FORMAT=text) and redacted, as Django's and Celery's lines (portal/logging.py).
logconfig_dict = gunicorn_logconfig()
