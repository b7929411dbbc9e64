"""The Alembic migrations build exactly the models' schema, and run down and up again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.models import Base
from tests.conftest import BACKENDS, POSTGRES_URL, ROOT, make_config, note_backend

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


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: Path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}"))
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with app.app_context():
        db.engine.dispose()
