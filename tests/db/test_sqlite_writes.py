"""SQLite with several worker processes: concurrent writes wait for each other, none fails.

Two app instances (two connection pools, as two gunicorn workers have) share one SQLite file.
Learners mark lessons complete and visitors check certificate codes (a GET that writes an
audit record) all at once. Without the write lock taken at the start of such requests,
SQLite refuses a write whose transaction read before another connection's commit
("database is locked"), and the page fails with a 500.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import func, select

from app import create_app
from app.authoring.importer import import_course_folder
from app.extensions import db, limiter
from app.models import AuditEvent, Course, Enrollment, LessonProgress, User, utcnow
from app.services import certificate_codes
from tests.conftest import FIXTURE_COURSES, make_config, note_backend
from tests.factories import csrf_token, make_user, sign_in

LEARNERS = 8
LESSONS = ("basics/front-matter", "basics/links-and-code", "practice/scenario")
CHECKS = 6  # certificate checks per visitor thread


def test_concurrent_writes_from_two_workers_wait_instead_of_failing(tmp_path: Path):
    note_backend("sqlite")
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    settings = {"VERIFY_LIMIT_PER_ADDRESS": "100000 per minute"}
    workers = [create_app(make_config(url, **settings)) for _ in range(2)]
    limiter.reset()
    first = workers[0]
    with first.app_context():
        db.create_all()
        import_course_folder(db.session, FIXTURE_COURSES / "format-tour")
        course_id = db.session.scalar(select(Course.id))
        learners = []
        for _ in range(LEARNERS):
            person = make_user()
            db.session.add(Enrollment(user_id=person.id, course_id=course_id, enrolled_at=utcnow()))
            learners.append(SimpleNamespace(email=person.email))
        db.session.commit()

    clients = []
    for number, person in enumerate(learners):
        client = workers[number % 2].test_client()
        sign_in(client, person)
        page = client.get(f"/courses/format-tour/{LESSONS[0]}")
        clients.append((client, csrf_token(page.get_data(as_text=True))))

    statuses: list[int] = []
    start = threading.Barrier(LEARNERS * 2)

    def learn(client, token: str) -> None:  # noqa: ANN001
        start.wait()
        for key in LESSONS:
            client.get(f"/courses/format-tour/{key}")  # read first, as a learner does
            answer = client.post(f"/courses/format-tour/{key}/complete", data={"csrf_token": token})
            statuses.append(answer.status_code)

    def check(worker) -> None:  # noqa: ANN001
        client = worker.test_client()
        start.wait()
        for _ in range(CHECKS):
            statuses.append(client.get(f"/verify/{certificate_codes.new_code()}").status_code)

    threads = [threading.Thread(target=learn, args=pair) for pair in clients]
    threads += [threading.Thread(target=check, args=(workers[n % 2],)) for n in range(LEARNERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    try:
        assert sorted(set(statuses)) == [302, 404], statuses
        assert len(statuses) == LEARNERS * (len(LESSONS) + CHECKS)
        with first.app_context():
            done = db.session.scalar(select(func.count()).select_from(LessonProgress))
            checked = db.session.scalar(
                select(func.count()).where(AuditEvent.action == "certificate.checked")
            )
            assert db.session.scalar(select(func.count()).select_from(User)) == LEARNERS
        assert done == LEARNERS * len(LESSONS)
        assert checked == LEARNERS * CHECKS
    finally:
        for worker in workers:
            with worker.app_context():
                db.session.remove()
                db.engine.dispose()
