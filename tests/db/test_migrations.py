"""The Alembic migrations build exactly the models' schema, and run down and up again."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.authoring.importer import import_course_folder
from app.extensions import db
from app.models import Base, Course, Question, Role
from tests.conftest import (
    BACKENDS,
    FIXTURE_COURSES,
    POSTGRES_URL,
    ROOT,
    make_config,
    note_backend,
)
from tests.factories import make_country, make_user, write_graded_attempt
from tests.unit.test_mastery import assert_totals_are_the_answers, stored_totals

MIGRATIONS = str(ROOT / "migrations")


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new empty database: a SQLite file, or a PostgreSQL database made for the test."""
    note_backend(request.param)
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    assert POSTGRES_URL is not None
    name = f"rso_migrations_{uuid.uuid4().hex[:12]}"
    server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrations_and_models_agree_and_upgrade_downgrade_upgrade_works(empty_database: str):
    app = create_app(make_config(empty_database))
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        assert schema_differences() == []
        tables = set(inspect(db.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables

        downgrade(directory=MIGRATIONS, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

        upgrade(directory=MIGRATIONS)
        assert schema_differences() == []
        db.engine.dispose()


def test_the_upgrade_to_0007_sums_the_answers_already_given(empty_database: str):
    """An existing deployment's mastery totals are right as soon as it is upgraded.

    The answers are written at revision 0006 through today's models, which are the same as
    that revision's tables for everything but mastery_totals.
    """
    app = create_app(make_config(empty_database))
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0006")
        assert import_course_folder(db.session, FIXTURE_COURSES / "format-tour").status == "created"
        course = db.session.scalar(select(Course))
        questions = db.session.scalars(select(Question).order_by(Question.id)).all()
        indonesia, thailand = make_country("ID"), make_country("TH")
        people = [
            make_user(country=indonesia),
            make_user(country=indonesia),
            make_user(country=thailand),
            make_user(Role.FOCAL_POINT, country=indonesia),  # not counted
            make_user(country=None),  # not counted
        ]
        rng = random.Random(7)
        for who in people:
            for number in (1, 2):
                marks = [(q, rng.choice([0.0, 0.5, 1.0, 1 / 3])) for q in rng.sample(questions, 3)]
                write_graded_attempt(who, course, marks, number=number)
        db.session.commit()

        upgrade(directory=MIGRATIONS)
        assert {country for country, _, _ in stored_totals()} == {indonesia.id, thailand.id}
        assert_totals_are_the_answers()
        db.session.remove()
        db.engine.dispose()


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: Path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}"))
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with app.app_context():
        db.engine.dispose()
