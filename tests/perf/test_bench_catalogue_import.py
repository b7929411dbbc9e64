"""How long the whole catalogue takes to import into an empty database, and to re-import."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.authoring.importer import import_course_folder
from app.authoring.parse import find_course_folders
from app.extensions import db
from tests.conftest import ROOT, make_config
from tests.perf.conftest import BENCH_BACKENDS

ROUNDS = 3


def _fresh_database(backend: str, folder: Path, label: str) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{folder / f'{label}.sqlite3'}", None
    server_url = os.environ["BENCH_DATABASE_URL"]
    name = f"rso_bench_{uuid.uuid4().hex[:10]}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(server_url).set(database=name).render_as_string(hide_password=False), (
        server,
        name,
    )


@pytest.mark.parametrize("backend", BENCH_BACKENDS)
def test_import_the_whole_catalogue_into_an_empty_database(backend, tmp_path, bench_table):
    folders, _ = find_course_folders(ROOT / "courses")
    first_times, again_times = [], []
    for round_number in range(ROUNDS):
        url, cleanup = _fresh_database(backend, tmp_path, f"round{round_number}")
        app = create_app(make_config(url))
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            outcomes = [import_course_folder(db.session, folder) for folder in folders]
            db.session.commit()
            first_times.append(time.perf_counter() - started)
            assert [o.status for o in outcomes] == ["created"] * len(folders)

            started = time.perf_counter()
            outcomes = [import_course_folder(db.session, folder) for folder in folders]
            db.session.commit()
            again_times.append(time.perf_counter() - started)
            assert {o.status for o in outcomes} == {"unchanged"}
            db.session.remove()
            db.engine.dispose()
        if cleanup is not None:
            server, name = cleanup
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            server.dispose()
    bench_table.append(
        (
            f"catalogue import, {len(folders)} courses, empty database",
            backend,
            f"median {statistics.median(first_times):.2f} s (of {ROUNDS})",
        )
    )
    bench_table.append(
        (
            "catalogue re-import, unchanged",
            backend,
            f"median {statistics.median(again_times):.2f} s (of {ROUNDS})",
        )
    )
