"""A worker's pool in production holds one connection per thread: a page must not need two at
once, or every request opens (and closes) a connection of its own, 5-10 ms on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import event, select, update

from app import create_app
from app.extensions import db
from app.models import UserSession, utcnow
from app.services import catalog
from tests.conftest import POSTGRES_URL, RequestIsolatedClient, make_config
from tests.factories import enrolled_learner_client

LESSON = "/courses/format-tour/basics/front-matter"


@pytest.fixture
def one_connection_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """As ProductionConfig with one thread: one connection kept, overflow ones closed on
    return; the app's context open, the sample course imported."""
    app = create_app(
        make_config(database_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 2})
    )
    app.instance_path = str(tmp_path / "instance")
    app.test_client_class = RequestIsolatedClient
    with app.app_context():
        if database_url == POSTGRES_URL:
            db.drop_all()
        db.create_all()
        try:
            yield app
        finally:
            db.session.remove()
            if database_url == POSTGRES_URL:
                db.drop_all()
            db.engine.dispose()


def lesson_pages(client, before_each=lambda: None) -> tuple[list, list[str]]:  # noqa: ANN001
    """Four lesson pages after a first one; (connections opened, statements sent) by them."""
    assert client.get(LESSON).status_code == 200  # caches filled
    connects: list[object] = []
    statements: list[str] = []
    event.listen(db.engine, "connect", lambda *_: connects.append(1))

    def record(*arguments: object) -> None:
        statements.append(str(arguments[2]))

    for _ in range(4):
        before_each()
        event.listen(db.engine, "before_cursor_execute", record)
        page = client.get(LESSON)
        event.remove(db.engine, "before_cursor_execute", record)
        assert page.status_code == 200 and "Mark as complete" in page.get_data(True)
    return connects, statements


def test_a_lesson_page_marking_its_session_seen_reloads_nothing(one_connection_app, monkeypatch):
    monkeypatch.setattr(catalog, "CACHE_SECONDS", 3600.0)  # no reload of the catalogue inside
    client = enrolled_learner_client(one_connection_app)

    def seen_long_ago() -> None:  # so that the request writes last_seen_at first
        db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()

    connects, statements = lesson_pages(client, seen_long_ago)
    seen = db.session.scalar(select(UserSession.last_seen_at))
    assert utcnow() - seen < timedelta(minutes=1)  # the write happened
    # Each page: the sign-in lookup with the lesson's state, the seen mark; the user not
    # reloaded.
    kinds = [statement.split()[0] for statement in statements if statement.strip() != "BEGIN"]
    assert kinds == ["SELECT", "UPDATE"] * 4, statements
    assert all("FROM lesson_progress" in statement for statement in statements[::2])
    assert connects == []


def test_a_read_after_the_orm_took_the_connection_shares_it(one_connection_app, monkeypatch):
    """The catalogue reloaded on every request through the ORM, whose transaction then holds
    the pool's one connection: the lesson's state is read on that connection, not a new one."""
    monkeypatch.setattr(catalog, "CACHE_SECONDS", 0.0)
    client = enrolled_learner_client(one_connection_app)
    connects, statements = lesson_pages(client)
    assert any("FROM courses" in statement for statement in statements)  # the ORM read ran
    assert connects == []
