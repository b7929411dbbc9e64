"""A worker's pool in production holds one connection per thread: a page must not need two at
once, or every request opens (and closes) a connection of its own, 5-10 ms on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, select, update

from app import create_app
from app.extensions import db
from app.models import UserSession, utcnow
from app.services import catalog
from tests.conftest import POSTGRES_URL, RequestIsolatedClient, make_config
from tests.factories import enrolled_learner_client

LESSON = "/courses/format-tour/basics/front-matter"


def test_a_lesson_page_due_to_mark_its_session_seen_reuses_the_pools_connection(
    database_url: str, tmp_path: Path, monkeypatch
):
    # As ProductionConfig with one thread: one connection kept, overflow ones closed on return.
    app = create_app(
        make_config(database_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 2})
    )
    app.instance_path = str(tmp_path / "instance")
    app.test_client_class = RequestIsolatedClient
    monkeypatch.setattr(catalog, "CACHE_SECONDS", 3600.0)  # no reload of the catalogue inside
    with app.app_context():
        if database_url == POSTGRES_URL:
            db.drop_all()
        db.create_all()
        try:
            client = enrolled_learner_client(app)
            assert client.get(LESSON).status_code == 200  # caches filled
            connects: list[object] = []
            event.listen(db.engine, "connect", lambda *_: connects.append(1))
            for _ in range(4):
                # Seen long enough ago that this request writes last_seen_at first.
                db.session.execute(
                    update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=5))
                )
                db.session.commit()
                page = client.get(LESSON)
                assert page.status_code == 200 and "Mark as complete" in page.get_data(True)
            seen = db.session.scalar(select(UserSession.last_seen_at))
            assert utcnow() - seen < timedelta(minutes=1)  # the write happened
            assert connects == []
        finally:
            db.session.remove()
            if database_url == POSTGRES_URL:
                db.drop_all()
            db.engine.dispose()
