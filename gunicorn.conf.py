"""Gunicorn in production: `gunicorn -c gunicorn.conf.py wsgi:app` (see docs/deploy.md).

Every setting reads the environment, so one file serves a laptop, the benchmark and a
region's application servers. The defaults are the ones measured in docs/performance.md.
"""

from __future__ import annotations

import gc
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Python runs one thread at a time per process, so the cores are used by processes: two a
# core, so that one waits on the database while the other computes. One thread each: with
# more, a thread back from the database waits for the GIL behind one rendering a page (up to
# 5 ms a time), which measured slower (docs/performance.md). gthread rather than sync for
# keep-alive connections from the reverse proxy.
workers = _int("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = _int("GUNICORN_THREADS", 1)
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "1") == "1"

# The app is loaded once in the master and forked: workers share its memory and start at once.
preload_app = True
# Recycle a worker now and then, so that a slow leak can never grow without bound; the jitter
# keeps the workers from restarting together. Rarely, though: a worker that exits drops the
# connections still waiting in its own accept queue (reuse_port), and at 20,000 a busy worker
# (400 requests a second) restarted every minute, failing a few requests each time. 200,000
# is hours of a region's peak (docs/deploy.md).
max_requests = _int("GUNICORN_MAX_REQUESTS", 200_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 20_000)

timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# A reverse proxy holds keep-alive connections to us; a little longer than its idle timeout.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
backlog = _int("GUNICORN_BACKLOG", 2048)
# Request line and headers: the proxy already refused anything larger than these.
limit_request_line = 8190
limit_request_fields = 100

# Logs go to stderr as one JSON object a line (app.logging formats the application's own).
# Access logs are the reverse proxy's job; GUNICORN_ACCESS_LOG=- writes them here as well.
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = (
    '{"time": "%(t)s", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
    '"query": "%(q)s", "status": %(s)s, "bytes": %(B)s, "ms": %(M)s, '
    '"request_id": "%({x-request-id}i)s", "user_agent": "%(a)s"}'
)
# Behind the proxy, trust its X-Forwarded-* only from where it runs (ProxyFix in the app
# applies them, with PROXY_FIX_HOPS).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "rso-learning"


def when_ready(server):  # noqa: ANN001, ANN201
    """The app is loaded and no worker forked yet: everything the master made is frozen, out of
    the collector's sight. A worker's full collections then walk only the objects it made
    itself, not the app's hundred thousand (85 ms each time, a stall in the middle of some
    request), and never write to the pages it shares with the master (docs/performance.md)."""
    gc.collect()
    gc.freeze()


def post_fork(server, worker):  # noqa: ANN001, ANN201
    """A forked worker opens its own database connections, never the master's."""
    app = worker.app.wsgi()
    if "sqlalchemy" not in getattr(app, "extensions", {}):
        return
    from app.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
