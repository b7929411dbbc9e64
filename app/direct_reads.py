"""Reads on the hottest path, run on the driver's connection instead of through the ORM.

A signed-in page asks the database who is signed in, and a lesson page whether the lesson is
done: two one-row reads. Through the ORM session each costs 0.4 ms of Python on SQLite around a
query that takes 0.02 ms, and on PostgreSQL each request also pays a BEGIN and a ROLLBACK, two
round trips more (docs/performance.md, fourth round). A `DirectRead` is a SQLAlchemy statement
compiled once per dialect; it runs on a pooled connection in autocommit (one round trip) and
converts its columns with the columns' own SQLAlchemy types, so it returns what the ORM would.

When the ORM session already holds a connection (the request has read or written through it),
the read runs on that connection instead, inside its transaction: it sees what the session
has flushed, and a worker whose pool keeps one connection per thread (production) never
needs a second one, which the pool would open and close again for every such request. The
engine's cursor events still fire (with no SQLAlchemy connection), so statement counters and
tracing see these reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import event, exc
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql import Select

Model = TypeVar("Model")
_deciding = threading.Lock()

# Where a session keeps the connection its transaction holds, while it holds one.
_HELD = "direct_reads.connection"


@event.listens_for(Session, "after_begin")
def _note_held_connection(session: Session, _transaction: object, connection: Connection) -> None:
    session.info[_HELD] = connection


@event.listens_for(Session, "after_transaction_end")
def _forget_held_connection(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: its connections go back
        session.info.pop(_HELD, None)


class _Prepared:
    def __init__(self, statement: Select, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = compiled.positional
        self.parameter_names = list(compiled.positiontup or ()) if compiled.positional else []
        self.defaults = {}
        for name, parameter in compiled.binds.items():
            if parameter.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                # Values are passed to the driver as given: only types it takes as they are.
                raise TypeError(f"{name}: a direct read takes no {parameter.type!r} parameter")
            if not parameter.required:
                self.defaults[name] = parameter.effective_value
        self.dialect = dialect
        # Only the columns the driver does not already return as Python wants them.
        self.processors: list[tuple[int, Callable[[Any], Any]]] = []
        # Columns whose conversion depends on the type the driver reports (PostgreSQL's
        # numbers): found at the first row, from the cursor's description.
        self.undecided: list[tuple[int, Any]] = []
        for index, column in enumerate(statement.selected_columns):
            implementation = column.type.dialect_impl(dialect)
            try:
                process = implementation.result_processor(dialect, None)
            except (TypeError, exc.InvalidRequestError):
                self.undecided.append((index, implementation))
                continue
            if process is not None:
                self.processors.append((index, process))

    def parameters(self, values: Mapping[str, Any]) -> Any:
        merged = {**self.defaults, **values}
        if self.positional:
            return tuple(merged[name] for name in self.parameter_names)
        return merged

    def decide(self, type_codes: Sequence[Any]) -> None:
        """The conversions left undecided, now that the driver said what it returns."""
        for index, implementation in self.undecided:
            process = implementation.result_processor(self.dialect, type_codes[index])
            if process is not None:
                self.processors.append((index, process))
        self.undecided = []

    def convert(self, row: tuple) -> tuple:
        if not self.processors:
            return row
        values = list(row)
        for index, process in self.processors:
            if values[index] is not None:
                values[index] = process(values[index])
        return tuple(values)


class DirectRead:
    """A SELECT that returns at most a few rows, run outside the ORM (see the module)."""

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        self._prepared: dict[str, _Prepared] = {}
        self._lock = threading.Lock()

    def _for(self, engine: Engine) -> _Prepared:
        dialect = engine.dialect
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            with self._lock:
                prepared = self._prepared.setdefault(
                    dialect.name, _Prepared(self.statement, dialect)
                )
        return prepared

    def first(self, session: Session, **values: Any) -> tuple | None:
        """The first row, its values converted as the ORM would; None when there is none."""
        engine = session.get_bind()
        prepared = self._for(engine)
        parameters = prepared.parameters(values)
        held = session.info.get(_HELD) if _made(session) else None
        if held is not None:
            row = _run(engine, held.connection, prepared, parameters)
        else:
            row = _run_alone(engine, prepared, parameters)
        return None if row is None else prepared.convert(tuple(row))


def column_keys(model: type) -> tuple[str, ...]:
    """The mapped column attributes of a model, in order: what `loaded` needs of a row."""
    return tuple(attribute.key for attribute in sa_inspect(model).column_attrs)


def loaded(
    session: Session, model: type[Model], values: Mapping[str, Any], *, refresh: bool = False
) -> Model:
    """The object of a row read here (`values` by `column_keys`), in the session as if the ORM
    had loaded it; the one already there, if any, as the ORM would give it (with `refresh`,
    given the row's values, as the ORM's populate_existing does).

    Before the request's session is made, the object waits to go into it when it is
    (`RequestSessions.add_when_made`): a page that needs no session makes none."""
    waiting = not _made(session)
    if not waiting:
        found = session.identity_map.get(identity_key(model, values["id"]))
        if found is not None:
            if refresh:
                for name, value in values.items():
                    set_committed_value(found, name, value)
            return found
    # As the ORM's own loading does: a new instance, its columns set without change events.
    instance = sa_inspect(model).class_manager.new_instance()
    instance.__dict__.update(values)
    make_transient_to_detached(instance)  # persistent once added, nothing pending
    if waiting:
        session.add_when_made(instance)
    else:
        session.add(instance)
    return instance


def _made(session: Session) -> bool:
    """False while the request's session (`RequestSessions`) has not been made: asking it for
    its identity map or its connection would make it."""
    made = getattr(session, "made", None)
    return made is None or made()


def _run_alone(engine: Engine, prepared: _Prepared, parameters: Any) -> Any:
    """On a connection of the pool, in autocommit: one round trip instead of BEGIN, SELECT and
    the pool's ROLLBACK. The pool only ever hands out an idle connection, where psycopg allows
    the switch."""
    switch_autocommit = engine.dialect.name == "postgresql"
    connection = engine.raw_connection()
    try:
        if switch_autocommit:
            connection.driver_connection.autocommit = True
        return _run(engine, connection, prepared, parameters)
    finally:
        if switch_autocommit and connection.is_valid:
            _end_autocommit(connection)
        connection.close()


def _run(engine: Engine, connection: Any, prepared: _Prepared, parameters: Any) -> Any:
    """The first row from the driver, the engine's cursor events around it."""
    dispatch = engine.dispatch
    sql = prepared.sql
    cursor = None
    try:
        cursor = connection.cursor()
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(None, cursor, sql, parameters, None, False)
        cursor.execute(sql, parameters)
        row = cursor.fetchone()
        if prepared.undecided:
            with _deciding:
                prepared.decide([column[1] for column in cursor.description])
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(None, cursor, sql, parameters, None, False)
        cursor.close()
        return row
    except engine.dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy does for its own statements: a lost server drops the connection
        # from the pool, and the error arrives as SQLAlchemy's.
        lost = engine.dialect.is_disconnect(error, connection, cursor)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql,
            parameters,
            error,
            engine.dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=engine.dialect,
        ) from error


def _end_autocommit(connection: Any) -> None:
    """Back to transactions before the pool lends the connection to the ORM; a connection
    that cannot switch back (its server gone) is dropped from the pool instead."""
    try:
        connection.driver_connection.autocommit = False
    except Exception as error:  # noqa: BLE001 - whatever the driver raises, the connection goes
        connection.invalidate(error)
