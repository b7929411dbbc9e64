"""Shared fixtures: a fresh app and database for every test, on SQLite and on PostgreSQL.

Every test that takes `app` runs once on a new SQLite file and, when TEST_DATABASE_URL is set
(CI sets it), once more on PostgreSQL, with its tables created before and dropped after.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from app import create_app
from app.extensions import db, limiter
from config import TestConfig

pytest_plugins = ["tests.smtp"]  # the smtp_server fixture

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_COURSES = Path(__file__).resolve().parent / "fixtures" / "courses"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
_backend_runs: Counter[str] = Counter()


class RequestIsolatedClient(FlaskClient):
    """Each request runs in a fresh application context, as on a real server.

    The test itself holds an app context for its database work; without this, requests would
    reuse it and share `g` (and the database session) with each other and with the test.
    """

    def open(self, *args, **kwargs):  # noqa: ANN002, ANN003
        # End the test's own transaction around the request, so the request sees what the
        # test wrote and the test then sees what the request wrote (objects reload lazily).
        db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.commit()
        return response


def make_config(database_url: str, **overrides: object) -> type[TestConfig]:
    return type(
        "TestRunConfig",
        (TestConfig,),
        {"SQLALCHEMY_DATABASE_URI": database_url, "COURSES_DIR": str(FIXTURE_COURSES), **overrides},
    )


def note_backend(name: str) -> None:
    """Count a database test per backend, for the closing summary."""
    _backend_runs[name] += 1


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    note_backend(request.param)
    if request.param == "postgresql":
        assert POSTGRES_URL is not None
        return POSTGRES_URL
    return f"sqlite:///{tmp_path / 'portal.sqlite3'}"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = create_app(make_config(database_url))
    application.instance_path = str(tmp_path / "instance")
    application.test_client_class = RequestIsolatedClient
    limiter.reset()  # the limiter's memory storage outlives one app; each test starts clean
    on_postgres = database_url == POSTGRES_URL
    with application.app_context():
        if on_postgres:
            db.drop_all()  # whatever an interrupted run may have left
        db.create_all()
        yield application
        db.session.remove()
        if on_postgres:
            db.drop_all()
        # A SQLite file goes with tmp_path; dropping its tables first would trip the keys.
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def course_folder(tmp_path: Path) -> Path:
    """A private copy of the sample course, free to break."""
    target = tmp_path / "courses" / "format-tour"
    shutil.copytree(FIXTURE_COURSES / "format-tour", target)
    return target


@pytest.fixture
def imported_course(app: Flask) -> str:
    """The sample course imported and published; returns its slug."""
    from app.authoring.importer import import_course_folder

    outcome = import_course_folder(db.session, FIXTURE_COURSES / "format-tour")
    db.session.commit()
    assert outcome.status == "created", outcome.problems
    return outcome.slug


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def writes(self) -> list[str]:
        return [s for s in self.statements if re.match(r"\s*(INSERT|UPDATE|DELETE)", s, re.I)]


@pytest.fixture
def count_queries(app: Flask):
    """Counts the SQL statements sent inside a `with count_queries() as counter:` block."""

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            if statement.strip().upper() != "BEGIN":  # SQLite's transaction start, not a query
                counter.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    return counting


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ANN001
    if _backend_runs:
        runs = ", ".join(f"{count} on {name}" for name, count in sorted(_backend_runs.items()))
        terminalreporter.write_line(f"database tests: {runs}")
        if POSTGRES_URL is None:
            terminalreporter.write_line("PostgreSQL: skipped (TEST_DATABASE_URL is not set)")
