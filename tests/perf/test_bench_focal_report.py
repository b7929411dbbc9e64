"""The focal point's progress report for a country of 5,000 staff in 5 courses.

Seeds with bulk inserts: every learner enrolled in every course, most part-way through, some
completed, some overdue, with quiz attempts and graded answers. Then times the report's
service calls and the HTTP pages (grid and CSV), and checks what they return.
"""

from __future__ import annotations

import csv
import io
import os
import random
import shutil
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.authoring.importer import import_course_folder
from app.extensions import db, limiter
from app.focal.views import REPORT_PAGE_SIZE
from app.models import (
    Course,
    Enrollment,
    LessonProgress,
    Question,
    QuestionResponse,
    Quiz,
    QuizAttempt,
    Role,
    User,
    utcnow,
)
from app.services import mastery, reports
from tests.conftest import FIXTURE_COURSES, RequestIsolatedClient, make_config
from tests.factories import make_country, make_user, sign_in
from tests.perf.conftest import BENCH_BACKENDS

STAFF = 5_000
COURSES = 5
ROUNDS = 7
TARGET_MS = 300


def _fresh_database(backend: str, folder: Path) -> tuple[str, Callable[[], None]]:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'report.sqlite3'}", lambda: None
    server_url = os.environ["BENCH_DATABASE_URL"]
    name = f"rso_bench_{uuid.uuid4().hex[:10]}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        server.dispose()

    return make_url(server_url).set(database=name).render_as_string(hide_password=False), drop


def import_courses(folder: Path) -> list[Course]:
    """The sample course under five slugs, course-1 to course-5."""
    for number in range(1, COURSES + 1):
        target = folder / f"course-{number}"
        shutil.copytree(FIXTURE_COURSES / "format-tour", target)
        course_md = target / "course.md"
        course_md.write_text(
            course_md.read_text("utf-8").replace(
                "title: A tour of the course format", f"title: Course {number}"
            ),
            "utf-8",
        )
        assert import_course_folder(db.session, target).status == "created"
    db.session.commit()
    return list(db.session.scalars(select(Course).order_by(Course.slug)))


def seed(country_id: int, courses: list[Course]) -> dict[str, int]:
    """5,000 learners in 5 courses with realistic progress; returns the expected counts."""
    rng = random.Random(2025)  # noqa: S311 - test data
    now = utcnow()
    today = now.date()
    user_ids = db.session.scalars(
        insert(User).returning(User.id, sort_by_parameter_order=True),
        [
            {
                "email": f"staff{number}@example.go.id",
                "display_name": f"{rng.choice(['Budi', 'Siti', 'Dewi', 'Agus'])} {number:05d}",
                "role": Role.LEARNER.value,
                "country_id": country_id,
            }
            for number in range(STAFF)
        ],
    ).all()
    lesson_keys = ["basics/front-matter", "basics/links-and-code", "practice/scenario"]
    quiz_keys = ["basics/check", "practice/timed"]
    questions = {
        key: db.session.scalars(
            select(Question.id)
            .join(Quiz, Quiz.id == Question.quiz_id)
            .where(Quiz.key == key, Quiz.version_id == courses[0].published_version_id)
        ).all()
        for key in quiz_keys
    }
    enrolments, lessons, attempts = [], [], []
    expected = {"completed": 0, "overdue": 0, "not_started": 0}
    for user_id in user_ids:
        for course in courses:
            roll = rng.random()
            due_on = today + timedelta(days=rng.randint(-60, 90))
            done_lessons: list[str] = []
            passed: list[str] = []
            completed_at = None
            if roll < 0.15:  # completed
                done_lessons, passed = lesson_keys, quiz_keys
                completed_at = now - timedelta(days=rng.randint(0, 300))
            elif roll < 0.80:  # part-way
                done_lessons = lesson_keys[: rng.randint(0, 3)]
                passed = quiz_keys[: rng.randint(0, 1)]
            started = bool(done_lessons or passed) or (completed_at is None and roll < 0.82)
            enrolments.append(
                {
                    "user_id": user_id,
                    "course_id": course.id,
                    "enrolled_at": now - timedelta(days=120),
                    "due_on": due_on,
                    "completed_at": completed_at,
                    "completed_version_id": course.published_version_id if completed_at else None,
                    "last_activity_at": now - timedelta(days=3) if started else None,
                }
            )
            if completed_at is not None:
                expected["completed"] += 1
            elif due_on < today:
                expected["overdue"] += 1
            if not started:
                expected["not_started"] += 1
            lessons.extend(
                {"user_id": user_id, "course_id": course.id, "item_key": key}
                for key in done_lessons
            )
            for key in quiz_keys:
                tries = [True] if key in passed else ([False] if rng.random() < 0.3 else [])
                if key in passed and rng.random() < 0.3:
                    tries = [False, True]
                for number, was_passed in enumerate(tries, start=1):
                    attempts.append(
                        {
                            "user_id": user_id,
                            "course_id": course.id,
                            "quiz_key": key,
                            "version_id": course.published_version_id,
                            "number": number,
                            "started_at": now - timedelta(days=5),
                            "submitted_at": now - timedelta(days=5),
                            "score": 90.0 if was_passed else 20.0,
                            "passed": was_passed,
                            "layout": [],
                            "answers": {},
                        }
                    )
    db.session.execute(insert(Enrollment), enrolments)
    db.session.execute(insert(LessonProgress), lessons)
    attempt_ids = db.session.scalars(
        insert(QuizAttempt).returning(QuizAttempt.id, sort_by_parameter_order=True), attempts
    ).all()
    responses = []
    for attempt_id, values in zip(attempt_ids, attempts, strict=True):
        for question_id in questions[values["quiz_key"]]:
            responses.append(
                {
                    "attempt_id": attempt_id,
                    "question_id": question_id,
                    "user_id": values["user_id"],
                    "course_id": values["course_id"],
                    "mark": 1.0 if values["passed"] or rng.random() < 0.3 else 0.0,
                    "answered_at": values["submitted_at"],
                }
            )
    db.session.execute(insert(QuestionResponse), responses)
    mastery.rebuild(db.session)  # answers written in bulk, not graded: their totals at once
    db.session.commit()
    expected.update(
        enrolments=len(enrolments),
        lessons=len(lessons),
        attempts=len(attempts),
        responses=len(responses),
    )
    return expected


def timed(function: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(ROUNDS):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


@pytest.mark.parametrize("backend", BENCH_BACKENDS)
def test_focal_report_for_5000_staff(backend, tmp_path, bench_table):
    url, drop = _fresh_database(backend, tmp_path)
    app = create_app(make_config(url))
    app.instance_path = str(tmp_path / "instance")
    app.test_client_class = RequestIsolatedClient
    limiter.reset()
    try:
        with app.app_context():
            db.create_all()
            courses = import_courses(tmp_path / "courses")
            country = make_country("ID", "Indonesia")
            focal = make_user(Role.FOCAL_POINT, country=country)
            started = time.perf_counter()
            expected = seed(country.id, courses)
            seeding = time.perf_counter() - started
            if backend == "postgresql":
                db.session.execute(text("ANALYZE"))
                db.session.commit()
            today = utcnow().date()
            session = db.session

            def page_of_report():
                columns = reports.report_columns(
                    reports.report_courses(session, country_id=country.id)
                )
                grid = reports.staff_course_grid(
                    session, country_id=country.id, courses=columns, today=today
                )
                rates = reports.completion_rates(
                    session, country_id=country.id, courses=columns, today=today
                )
                mastery = reports.mastery_by_provision(session, country_id=country.id)
                session.rollback()  # a new transaction each round, as a request would have
                return columns, grid, rates, mastery

            def whole_csv():
                columns = reports.report_columns(
                    reports.report_courses(session, country_id=country.id)
                )
                grid = reports.staff_course_grid(
                    session, country_id=country.id, courses=columns, today=today, page_size=None
                )
                body = reports.csv_text(reports.csv_rows(grid.rows, columns))
                session.rollback()
                return body

            def filtered_page():
                columns = reports.report_columns(
                    reports.report_courses(session, country_id=country.id)
                )
                grid = reports.staff_course_grid(
                    session, country_id=country.id, courses=columns, status="not_started",
                    today=today,
                )  # fmt: skip
                session.rollback()
                return grid

            page_ms, (columns, grid, rates, mastery) = timed(page_of_report)
            assert len(columns) == COURSES and grid.total == STAFF and len(grid.rows) == 100
            assert sum(rate.enrolled for rate in rates) == expected["enrolments"]
            assert sum(rate.completed for rate in rates) == expected["completed"]
            assert {m.provision for m in mastery} == {
                "TIP art. 3",
                "TIP art. 14",
                "UNTOC art. 2",
                "SOM art. 3",
            }
            # Each sample question tests one provision group: every answer counts once.
            assert sum(m.answers for m in mastery) == expected["responses"]

            csv_ms, body = timed(whole_csv)
            rows = list(csv.reader(io.StringIO(body[1:])))
            assert len(rows) == 1 + STAFF and len(rows[0]) == 2 + COURSES
            cells = [cell for row in rows[1:] for cell in row[2:]]
            assert sum(cell.startswith("Completed") for cell in cells) == expected["completed"]
            assert sum(cell.endswith("Overdue") for cell in cells) == expected["overdue"]
            assert sum(cell.startswith("Not started") for cell in cells) == expected["not_started"]

            filtered_ms, filtered = timed(filtered_page)
            # The status filter (SQL) agrees with the cells (Python) on every learner.
            assert filtered.total == sum(
                any(cell.startswith("Not started") for cell in row[2:]) for row in rows[1:]
            )
            assert 0 < filtered.total < STAFF

            client = app.test_client()
            sign_in(client, focal)

            def get(path: str):
                response = client.get(path)
                assert response.status_code == 200
                return response

            http_page_ms, response = timed(lambda: get("/focal/report"))
            rows_shown = response.get_data(as_text=True).count('<th scope="row"><a href')
            assert rows_shown == REPORT_PAGE_SIZE
            http_csv_ms, response = timed(lambda: get("/focal/report.csv"))
            lines = response.get_data().decode("utf-8-sig").splitlines()
            assert len(lines) == 1 + STAFF
            http_filtered_ms, _ = timed(lambda: get("/focal/report?status=in_progress&page=3"))
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
    label = f"focal report, {STAFF} staff x {COURSES} courses"
    bench_table.append(
        (f"{label}: seeding ({expected['enrolments']} enrolments, "
         f"{expected['lessons']} lessons, {expected['attempts']} attempts, "
         f"{expected['responses']} answers)", backend, f"{seeding:.1f} s")
    )  # fmt: skip
    for name, value in [
        ("services, one page + rates + mastery", page_ms),
        ("services, whole grid as CSV", csv_ms),
        ("services, page filtered by status", filtered_ms),
        ("GET /focal/report", http_page_ms),
        ("GET /focal/report.csv", http_csv_ms),
        ("GET /focal/report?status=in_progress&page=3", http_filtered_ms),
    ]:
        bench_table.append((f"{label}: {name}", backend, f"median {value:.0f} ms (of {ROUNDS})"))
    assert http_page_ms < TARGET_MS, f"the report page took {http_page_ms:.0f} ms"
