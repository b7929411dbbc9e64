"""The hot pages send a fixed number of SQL statements, the same for a few rows as for many.

The numbers are what the pages send today (docs/performance.md says why each is needed). A
change that adds a statement to one of these pages, or makes one grow with the data (one query
per learner, per course, per row), fails here: raise the number only on purpose.

Counted on a warm worker: the published catalogue is kept in memory (app.services.catalog), so
the first request after a start or a publish sends one statement more than these.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Course, Enrollment, LessonProgress, QuizAttempt, Role, utcnow
from tests.factories import csrf_token, make_user, sign_in
from tests.web.test_certificates import complete_course

LESSON = "/courses/format-tour/basics/front-matter"
QUIZ = "/courses/format-tour/basics/check"

# page: (who asks, URL, SQL statements)
HOT_PAGES = {
    "catalogue": ("visitor", "/courses", 0),
    "course": ("learner", "/courses/format-tour", 4),
    # The sign-in lookup reads the lesson's state in the same statement.
    "lesson as a learner": ("learner", LESSON, 1),
    "quiz": ("learner", QUIZ, 5),
    "dashboard": ("learner", "/dashboard", 4),
    # One of them reads the mastery totals, the same on every view (no per-process cache);
    # the focal point's country comes with the sign-in lookup; the courses come with their
    # completion counts, and the grid's page is one statement.
    "focal point report": ("focal", "/focal/report", 4),
    "certificate check": ("visitor", "/verify/{code}", 3),
}


def add_learners(country_id: int, course: Course, count: int, *, start: int) -> None:
    """More staff of the country, each enrolled with lessons done and an attempt."""
    now = utcnow()
    for number in range(start, start + count):
        person = make_user(email=f"grown{number}@example.gov", name=f"Grown {number}")
        person.country_id = country_id
        db.session.add(
            Enrollment(
                user_id=person.id,
                course_id=course.id,
                enrolled_at=now - timedelta(days=3),
                due_on=(now + timedelta(days=30)).date(),
                last_activity_at=now,
            )
        )
        for key in ("basics/front-matter", "basics/links-and-code"):
            db.session.add(LessonProgress(user_id=person.id, course_id=course.id, item_key=key))
        db.session.add(
            QuizAttempt(
                user_id=person.id,
                course_id=course.id,
                quiz_key="basics/check",
                version_id=course.published_version_id,
                number=1,
                started_at=now,
                submitted_at=now,
                score=40.0,
                passed=False,
                layout=[],
                answers={},
            )
        )
    db.session.commit()


@pytest.fixture
def region(app, imported_course):
    """A country with a focal point, a learner part-way through the course, a certificate."""
    course = db.session.scalar(select(Course))
    learner = make_user(country="ID")
    db.session.add(Enrollment(user_id=learner.id, course_id=course.id, enrolled_at=utcnow()))
    db.session.add(
        LessonProgress(user_id=learner.id, course_id=course.id, item_key="basics/front-matter")
    )
    db.session.commit()
    focal = make_user(Role.FOCAL_POINT, country="ID")
    certificate = complete_course(make_user(country="ID"), course)
    clients = {"visitor": app.test_client(), "learner": app.test_client()}
    sign_in(clients["learner"], learner)
    clients["focal"] = app.test_client()
    sign_in(clients["focal"], focal)
    return {
        "course": course,
        "country_id": learner.country_id,
        "clients": clients,
        "code": certificate.code,
    }


def statements(count_queries, client, url: str) -> int:  # noqa: ANN001
    assert client.get(url).status_code == 200, url  # a warm worker: caches filled
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count


@pytest.mark.parametrize("page", HOT_PAGES)
def test_a_hot_page_sends_a_fixed_number_of_statements(page, region, count_queries):
    who, url, expected = HOT_PAGES[page]
    client, url = region["clients"][who], url.format(code=region["code"])
    few = statements(count_queries, client, url)
    add_learners(region["country_id"], region["course"], 25, start=0)
    many = statements(count_queries, client, url)
    assert (few, many) == (expected, expected), f"{page}: {few} then {many} statements"


def test_a_lesson_page_for_a_visitor_sends_no_statement(region, count_queries):
    assert statements(count_queries, region["clients"]["visitor"], LESSON) == 0


def test_a_lesson_pages_state_comes_with_the_sign_in_lookup_for_every_reader(
    app, region, count_queries
):
    """Done, to do, not enrolled: each reader sees the right state, read in the one statement
    that also finds who is signed in."""
    stranger = app.test_client()
    sign_in(stranger, make_user(country="ID"))
    later = "/courses/format-tour/basics/links-and-code"
    done, to_do = "You have completed this lesson", "Mark as complete"
    cases = [
        (region["clients"]["learner"], LESSON, {done}),
        (region["clients"]["learner"], later, {to_do}),
        (stranger, LESSON, set()),
    ]
    for client, url, shown in cases:
        assert statements(count_queries, client, url) == 1, url
        page = client.get(url).get_data(as_text=True)
        assert {text for text in (done, to_do) if text in page} == shown, url


def test_a_row_read_along_serves_only_the_read_and_values_it_was_asked_for(app):
    from flask import g

    from app.auth.session import read_along, read_along_with_sign_in
    from app.services import grading, progress

    with app.test_request_context("/"):
        read_along_with_sign_in(progress.LESSON_STATE_WITH_SIGN_IN, course_id=1, key="m/a")
        assert read_along(progress.LESSON_STATE_WITH_SIGN_IN, course_id=1, key="m/a") is None
        g.sign_in_along.done, g.sign_in_along.row = True, (7, True)  # as the lookup leaves it
        assert read_along(progress.LESSON_STATE_WITH_SIGN_IN, course_id=1, key="m/a") == (7, True)
        assert read_along(progress.LESSON_STATE_WITH_SIGN_IN, course_id=1, key="m/b") is None
        assert read_along(grading.ATTEMPT_TO_GRADE_WITH_SIGN_IN, course_id=1, key="m/a") is None


def test_marking_a_lesson_complete_sends_three_statements_and_reloads_nothing(
    region, count_queries
):
    """The sign-in lookup, the enrolment touched (UPDATE ... RETURNING, which also finds it)
    and the lesson's row inserted unless it is there: the course comes from the catalogue in
    memory, and the reader and the enrolment stay loaded through the commit."""
    client = region["clients"]["learner"]
    page = client.get(LESSON)
    token = csrf_token(page.get_data(as_text=True))
    for _ in range(2):  # done before, and done again: the same statements
        with count_queries() as counter:
            response = client.post(LESSON + "/complete", data={"csrf_token": token})
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/courses/format-tour/basics/links-and-code")
        reloads = [s for s in counter.statements if re.match(r"SELECT (users|courses)\.", s)]
        assert reloads == []
        assert counter.count == 3, [s[:70] for s in counter.statements]
