"""Health checks for operators and load balancers.

`/healthz`: the process answers and its database does (a liveness probe, and what the
`make run` smoke check asks). `/readyz`: everything a request may need is reachable, the
database and the Redis that holds the shared rate limits; a load balancer sends traffic only
to servers that answer 200 here. Neither is rate-limited, cached or signed-in.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, limiter

bp = Blueprint("api", __name__)


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.exception("health check: database unreachable")
        db.session.rollback()
        return False
    return True


def _redis_state() -> str:
    """'ok', 'unreachable', or 'not used' when the limits are kept in memory."""
    if not current_app.config["RATELIMIT_STORAGE_URI"].startswith("redis"):
        return "not used"
    try:
        healthy = limiter.storage.check()
    except Exception:  # noqa: BLE001  (any failure of the storage means: not ready)
        healthy = False
    if not healthy:
        current_app.logger.error("readiness check: Redis unreachable")
    return "ok" if healthy else "unreachable"


def _no_cache(response):  # noqa: ANN001, ANN202
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 when it does not."""
    if not _database_answers():
        return _no_cache(jsonify(status="error", database="unreachable")), 503
    return _no_cache(jsonify(status="ok", database="ok"))


@bp.get("/readyz")
def readyz():
    """200 when the database and Redis (if used) answer; 503 with what is missing otherwise."""
    database = "ok" if _database_answers() else "unreachable"
    redis = _redis_state()
    ready = database == "ok" and redis != "unreachable"
    body = jsonify(status="ok" if ready else "error", database=database, redis=redis)
    return _no_cache(body), (200 if ready else 503)
