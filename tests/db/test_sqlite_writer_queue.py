"""SQLite writers queue on a lock file: a writer that finds another writing waits for its commit
and starts at once, instead of polling SQLite with growing sleeps."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select, text

from app import create_app
from app.extensions import QueuedWriterConnection, db, reads_before_writing
from app.models import QuizAttempt
from tests.conftest import RequestIsolatedClient, make_config, note_backend
from tests.factories import csrf_token, enrolled_learner_client
from tests.web.test_learning import answer_form, start


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
    # Without the queue, SQLite alone refuses a second writer at once (no busy timeout).
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("BEGIN IMMEDIATE")
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


def traced_statements() -> list[str]:
    """Every statement SQLite runs from now on, as it runs it (BEGIN and COMMIT included)."""
    statements: list[str] = []
    db.session.remove()
    db.engine.dispose()  # new connections, each traced from the start

    @event.listens_for(db.engine, "connect")
    def trace(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.set_trace_callback(statements.append)

    return statements


@pytest.fixture
def learner_client(tmp_path: Path) -> Iterator[FlaskClient]:
    """A client signed in as an enrolled learner, on a SQLite file; the app's context open."""
    note_backend("sqlite")
    app = create_app(make_config(f"sqlite:///{tmp_path / 'portal.sqlite3'}"))
    app.test_client_class = RequestIsolatedClient
    with app.app_context():
        db.create_all()
        yield enrolled_learner_client(app)
        db.session.remove()
        db.engine.dispose()


def test_a_post_looks_up_its_signed_in_person_before_taking_the_write_lock(learner_client):
    lesson = "/courses/format-tour/basics/front-matter"
    token = csrf_token(learner_client.get(lesson).get_data(as_text=True))
    statements = traced_statements()
    answer = learner_client.post(f"{lesson}/complete", data={"csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)[-1500:]
    lookup = next(i for i, s in enumerate(statements) if "FROM user_sessions JOIN users" in s)
    write_lock = statements.index("BEGIN IMMEDIATE")
    # The lookup is the request's first statement, in no transaction: nothing to end.
    assert lookup == 0 and lookup < write_lock
    assert "BEGIN" not in statements[:write_lock]


def test_a_quiz_submission_grades_before_taking_the_write_lock(learner_client):
    """The attempt is read with the sign-in lookup, in no transaction, and the quiz's questions
    (a worker's first grading of it) in a reader's transaction of their own; the write lock is
    taken only for the claim and what follows it."""
    attempt_url = start(learner_client)
    form = answer_form(learner_client.get(attempt_url).get_data(as_text=True), right=True)
    statements = traced_statements()
    answer = learner_client.post(attempt_url, data=form)
    assert answer.status_code == 302
    assert db.session.scalar(select(QuizAttempt.passed)) is True
    read = next(i for i, s in enumerate(statements) if "JOIN quiz_attempts" in s)
    questions = next(i for i, s in enumerate(statements) if "FROM questions" in s)
    claim = next(i for i, s in enumerate(statements) if s.startswith("UPDATE quiz_attempts"))
    write_lock = statements.index("BEGIN IMMEDIATE")
    assert "FROM user_sessions" in statements[read] and "BEGIN" not in statements[:read]
    assert statements[read + 1] == "BEGIN"  # deferred: a reader, not queued for the lock
    assert read < questions < statements.index("COMMIT", questions) < write_lock < claim


def test_reads_inside_a_begun_write_leave_that_transaction_to_the_view(tmp_path: Path):
    note_backend("sqlite")
    app = create_app(make_config(f"sqlite:///{tmp_path / 'portal.sqlite3'}"))
    with app.app_context():
        db.create_all()
        db.session.execute(text("CREATE TABLE marks (writer TEXT)"))
        db.session.commit()
        with app.test_request_context("/", method="POST"):
            db.session.execute(text("INSERT INTO marks VALUES ('view')"))
            with reads_before_writing():
                db.session.execute(text("SELECT 1"))
            assert db.session().in_transaction()  # not committed on the view's behalf
            db.session.rollback()
            assert db.session.execute(text("SELECT count(*) FROM marks")).scalar() == 0
            db.session.rollback()
        db.session.remove()
        db.engine.dispose()
