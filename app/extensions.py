"""The shared extension objects. Import them from here, never from the app package."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, current_app, has_request_context, request
from flask.globals import request_ctx
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

from app.certificates.authority import CertificateAuthority
from app.models.base import Base


class RequestSessions(scoped_session):
    """`db.session`: each request's ORM session, made only when something needs it.

    A signed-in lesson page reads all it needs on the driver's connection (app.direct_reads):
    making a session, putting the reader in it and closing it again cost a seventh of the
    page. Here an object read that way before the session exists waits (`add_when_made`) and
    goes into the session as it is made, before anything else can use it; asking for the
    engine without naming a model or a statement (`get_bind`) makes nothing.
    """

    def __init__(self, plain: scoped_session, default_engine: Callable[[], Engine]) -> None:
        super().__init__(plain.session_factory, scopefunc=plain.registry.scopefunc)
        self._default_engine = default_engine
        self._waiting: dict[object, list[object]] = {}
        make, scope = self.registry.createfunc, self.registry.scopefunc

        def make_with_waiting() -> Session:
            session = make()
            session.add_all(self._waiting.pop(scope(), ()))
            return session

        self.registry.createfunc = make_with_waiting

    def made(self) -> bool:
        """Whether this scope's session exists yet."""
        return self.registry.has()

    def add_when_made(self, instance: object) -> None:
        """Put `instance` in this scope's session: now if it exists, else when it is made."""
        if self.registry.has():
            self.registry().add(instance)
        else:
            self._waiting.setdefault(self.registry.scopefunc(), []).append(instance)

    def get_bind(self, mapper=None, *, clause=None, bind=None, **kw):  # noqa: ANN001, ANN201
        if bind is None and mapper is None and clause is None and not self.registry.has():
            return self._default_engine()
        return self.registry().get_bind(mapper, clause=clause, bind=bind, **kw)

    def remove(self) -> None:
        self._waiting.pop(self.registry.scopefunc(), None)
        super().remove()


class _SQLAlchemy(SQLAlchemy):
    def _make_scoped_session(self, options: dict) -> RequestSessions:
        return RequestSessions(super()._make_scoped_session(options), lambda: self.engine)


db = _SQLAlchemy(model_class=Base)
csrf = CSRFProtect()


class _LoginManager(LoginManager):
    def _session_protection_failed(self) -> bool:
        """Flask-Login hashes the client's address and browser on every request before it looks
        whether session protection is on at all; the portal has it off (sessions are rows on
        the server, app.auth.session.init_login), so it hashes nothing."""
        if not current_app.config.get("SESSION_PROTECTION", self.session_protection):
            return False
        return super()._session_protection_failed()


login_manager = _LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
certificate_authority = CertificateAuthority()


def init_limiter(app: Flask) -> None:
    """The limiter, its hooks run only where a limit was counted.

    Every limit sits on its own view (sign-in, certificate checks...), which checks it itself:
    the limiter's hook before every request would find nothing else to count (0.1 ms a
    request), so it is removed; it is needed back only if default or blueprint-wide limits
    are ever added. Its hooks after the response (deducting a failed sign-in, its headers) and
    at the end of the request have nothing to do unless a limit was checked, which is when it
    makes its context in the request's.
    """
    limiter.init_app(app)
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    for hooks in (app.after_request_funcs[None], app.teardown_request_funcs[None]):
        hooks[:] = [_after_a_limit(hook) if _limiters(hook) else hook for hook in hooks]


def init_csrf(app: Flask) -> None:
    """CSRF protection, its hook run only for the methods it checks.

    Flask-WTF's hook looks up whether the view is exempt before it looks at the method, so
    every GET paid for the look-up (a thirtieth of a signed-in lesson page) to be let through.
    Here a request whose method is not checked (WTF_CSRF_METHODS, read as the app starts)
    never calls it.
    """
    csrf.init_app(app)
    hooks = app.before_request_funcs[None]
    found = [i for i, hook in enumerate(hooks) if hook.__name__ == "csrf_protect"]
    if len(found) != 1:  # Flask-WTF registers it so; an upgrade that changes it stops here
        raise RuntimeError("Flask-WTF's csrf_protect hook was not found once")
    index = found[0]
    protect, checked = hooks[index], frozenset(app.config["WTF_CSRF_METHODS"])

    def csrf_protect_checked_methods() -> None:
        if request.method in checked:
            protect()

    hooks[index] = csrf_protect_checked_methods


def _limiters(hook: Callable) -> bool:
    bound_to = getattr(hook, "__self__", None)
    partial_of = getattr(hook, "args", ())[:1]
    return bound_to is limiter or partial_of == (limiter,)


def _after_a_limit(hook: Callable) -> Callable:
    def run_where_a_limit_was_checked(value: object = None) -> object:
        # The context's own attributes: asking the proxy for a missing one costs an exception.
        if "_limiter_request_context" in vars(request_ctx._get_current_object()):
            return hook(value)
        return value

    return run_where_a_limit_was_checked


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


class QueuedWriterConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions queue for a lock file beside the database.

    SQLite makes a writer that finds the database busy poll it, sleeping 1, 2, 5... up to 100 ms
    between tries: the database sits idle while the writers sleep, and under load a POST can
    wait a second. Writers blocked on the lock file instead wake as soon as the last one has
    committed, in turn. Processes that do not take the lock (the command line) still meet
    SQLite's own lock and busy timeout, so nothing depends on everyone taking it.
    """

    _writer_lock: int | None = None

    def begin_write(self, lock_path: str) -> None:
        """BEGIN IMMEDIATE, after waiting for the lock file (created when missing)."""
        if self._writer_lock is None:
            self._writer_lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._writer_lock, fcntl.LOCK_EX)
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            fcntl.flock(self._writer_lock, fcntl.LOCK_UN)
            raise

    def _let_next_writer_in(self) -> None:
        if self._writer_lock is not None:
            fcntl.flock(self._writer_lock, fcntl.LOCK_UN)

    # Released once the transaction has ended, never before: the next writer must find the
    # database free.
    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._let_next_writer_in()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._let_next_writer_in()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._writer_lock is not None:
                os.close(self._writer_lock)
                self._writer_lock = None


def sqlite_engine_options(options: dict) -> dict:
    """SQLAlchemy's engine options for a SQLite database: its connections queue their writers."""
    connect_args = {**options.get("connect_args", {}), "factory": QueuedWriterConnection}
    return {**options, "connect_args": connect_args}


# Requests that may write. SQLite gives a transaction that read first and writes later no way
# to wait for another process's write ("database is locked" at once, whatever the busy
# timeout): such requests, and GET views marked with app.web.writes_on_get, take the write
# lock when they begin, and wait for it. The sign-in lookup that opens every request runs
# before, outside the transaction (app.services.accounts), so the lock is not held for it.
_WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Set inside `reads_before_writing`: the transactions begun there only read.
_reading_first: ContextVar[list | None] = ContextVar("reading_first", default=None)


def _request_may_write() -> bool:
    return has_request_context() and (
        request.method in _WRITING_METHODS
        or getattr(current_app.view_functions.get(request.endpoint), "writes_on_get", False)
    )


@contextmanager
def reads_before_writing() -> Iterator[None]:
    """The reads a writing view makes before its first write, in a transaction of their own on
    SQLite, so that the write lock, which every writer of every worker waits for, is held for
    the writes alone (a quiz submission's grading runs between the two).

    The objects read stay loaded when that transaction ends; writes that follow must not rely
    on nothing having changed since (a conditional UPDATE, say). On PostgreSQL nothing
    changes; nor when the view's transaction had begun before the block, which is the view's
    to end.
    """
    if db.engine.dialect.name != "sqlite" or not _request_may_write():
        yield
        return
    began: list = []
    reset = _reading_first.set(began)
    try:
        yield
    finally:
        _reading_first.reset(reset)
    if began:
        commit_keeping_loaded()


def commit_keeping_loaded() -> None:
    """Commit the request's session, the objects it loaded left loaded: when what was
    committed did not change them, reloading them would cost a query, and a connection held
    to the end of the request."""
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit


def emit_sqlite_begin(engine: Engine) -> None:
    """With the driver's own transaction handling off, SQLAlchemy must send BEGIN itself:
    BEGIN IMMEDIATE in a request that may write (queued, see QueuedWriterConnection), a plain
    (deferred) BEGIN otherwise."""
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database
    lock_path = f"{database}-writers" if database and database != ":memory:" else None

    @event.listens_for(engine, "begin")
    def _begin(connection: object) -> None:
        reading = _reading_first.get()
        if reading is not None:
            reading.append(True)
        writing = reading is None and _request_may_write()
        # Straight to the driver: this runs once a request, and needs no statement events.
        driver = connection.connection.driver_connection  # type: ignore[attr-defined]
        if not writing:
            driver.execute("BEGIN")
        elif lock_path and isinstance(driver, QueuedWriterConnection):
            driver.begin_write(lock_path)
        else:
            driver.execute("BEGIN IMMEDIATE")
