"""SQLite writers queue on a lock file: a writer that finds another writing waits for its commit
and starts at once, instead of polling SQLite with growing sleeps."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import QueuedWriterConnection, db
from tests.conftest import make_config, note_backend


def connect(path: Path) -> QueuedWriterConnection:
    connection = sqlite3.connect(path, factory=QueuedWriterConnection, check_same_thread=False)
    connection.isolation_level = None
    # No busy timeout: a writer that met the database busy would fail at once.
    connection.execute("PRAGMA busy_timeout=0")
    return connection


@pytest.fixture
def database(tmp_path: Path) -> Path:
    note_backend("sqlite")
    path = tmp_path / "queue.sqlite3"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE marks (writer TEXT)")
    setup.close()
    return path


def test_second_writer_waits_for_the_first_commit_then_writes(database: Path):
    lock = f"{database}-writers"
    first, second = connect(database), connect(database)
    first.begin_write(lock)
    first.execute("INSERT INTO marks VALUES ('first')")
    outcome: list[object] = []

    def write_second() -> None:
        try:
            second.begin_write(lock)
            second.execute("INSERT INTO marks VALUES ('second')")
            second.commit()
            outcome.append("written")
        except sqlite3.OperationalError as error:
            outcome.append(error)

    waiting = threading.Thread(target=write_second)
    waiting.start()
    waiting.join(timeout=0.3)
    assert waiting.is_alive(), outcome  # queued behind the first writer, not failed
    first.commit()
    waiting.join(timeout=10)
    assert outcome == ["written"]
    rows = first.execute("SELECT writer FROM marks ORDER BY rowid").fetchall()
    assert rows == [("first",), ("second",)]
    first.close()
    second.close()


def test_a_rolled_back_writer_lets_the_next_one_in(database: Path):
    lock = f"{database}-writers"
    first, second = connect(database), connect(database)
    first.begin_write(lock)
    first.execute("INSERT INTO marks VALUES ('undone')")
    first.rollback()
    second.begin_write(lock)  # would block for ever if the rollback had kept the lock
    second.execute("INSERT INTO marks VALUES ('second')")
    second.commit()
    assert second.execute("SELECT writer FROM marks").fetchall() == [("second",)]
    first.close()
    second.close()


def test_without_the_queue_the_second_writer_fails(database: Path):
    """What the queue prevents: SQLite alone refuses a writer that finds another writing."""
    first, second = connect(database), connect(database)
    first.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("BEGIN IMMEDIATE")
    first.rollback()
    first.close()
    second.close()


def test_requests_that_write_take_the_queue(tmp_path: Path):
    note_backend("sqlite")
    app = create_app(make_config(f"sqlite:///{tmp_path / 'portal.sqlite3'}"))
    lock = tmp_path / "portal.sqlite3-writers"
    with app.app_context():
        db.create_all()
        with app.test_request_context("/", method="GET"):
            db.session.execute(text("SELECT 1"))
            driver = db.session.connection().connection.driver_connection
            assert isinstance(driver, QueuedWriterConnection)
            db.session.rollback()
        assert not lock.exists()  # a reading request never touches it
        with app.test_request_context("/", method="POST"):
            db.session.execute(text("SELECT 1"))
            assert lock.exists()
            db.session.rollback()
        db.session.remove()
        db.engine.dispose()
