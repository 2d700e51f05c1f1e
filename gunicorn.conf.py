"""Gunicorn settings for Socle (``gunicorn -c gunicorn.conf.py 'lti_tool:create_app()'``).

Threads matter: the demo platform and the tool share one server, and a launch may fetch a key set from
it. The access log leaves out query strings: they carry launch ids, which act as bearer tokens.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:" + os.environ.get("PORT", "5000"))
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 30
keepalive = 5
accesslog = "-"
# %(U)s is the path without its query string.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def when_ready(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Say where to go once the server listens (a newcomer's first `make run` ends here)."""
    url = os.environ.get("LTI_TOOL_BASE_URL") or "http://" + bind
    server.log.info("Socle is ready: open %s/ in your browser (Ctrl+C stops it).", url.rstrip("/"))
