"""The shared extension objects. Import them from here, never from the app package."""

from __future__ import annotations

import sqlite3

from flask import current_app, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.certificates.authority import CertificateAuthority
from app.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
certificate_authority = CertificateAuthority()


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: object, _record: object) -> None:
    """WAL and foreign keys on every SQLite connection; PostgreSQL needs nothing here."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy, not the driver, decide when transactions begin, so SAVEPOINT works.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# Requests that may write. SQLite gives a transaction that read first and writes later no way
# to wait for another process's write ("database is locked" at once, whatever the busy
# timeout): such requests, and GET views marked with app.web.writes_on_get, take the write
# lock when they begin, and wait for it.
_WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def emit_sqlite_begin(engine: Engine) -> None:
    """With the driver's own transaction handling off, SQLAlchemy must send BEGIN itself:
    BEGIN IMMEDIATE in a request that may write, a plain (deferred) BEGIN otherwise."""
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "begin")
        def _begin(connection: object) -> None:
            writing = has_request_context() and (
                request.method in _WRITING_METHODS
                or getattr(current_app.view_functions.get(request.endpoint), "writes_on_get", False)
            )
            # Straight to the driver: this runs once a request, and needs no statement events.
            driver = connection.connection.driver_connection  # type: ignore[attr-defined]
            driver.execute("BEGIN IMMEDIATE" if writing else "BEGIN")
