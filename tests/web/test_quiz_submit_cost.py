"""A quiz submission sends a fixed, small number of SQL statements, whatever the quiz's size.

Submitting is the busiest write of the site. Through the real route, a submission reads the
learner's session and the attempt with its course (in one statement; the quiz's questions
come from memory once a worker has graded the quiz, a version never changes), then
writes five: the update that claims the attempt, one INSERT of every mark, one upsert of the
marks into the country's mastery totals (for a learner with a country), the enrolment's last
activity and the audit event; on PostgreSQL the five are one statement. A pass adds a read to
see whether the course is complete. Nothing is read again after the commit. Raise these
numbers only on purpose.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine.interfaces import CacheStats

from app.extensions import db
from app.models import (
    AuditEvent,
    Course,
    Enrollment,
    MasteryTotal,
    QuestionResponse,
    QuizAttempt,
    utcnow,
)
from app.services import catalog
from tests.factories import make_user, sign_in, submit
from tests.web.test_learning import answer_form

READS = 1  # the signed-in session with its user, and the attempt with its course
QUIZ_LOAD = 2  # a worker's first grading of a quiz: the quiz, its questions
SEPARATE_WRITES = [
    "UPDATE quiz_attempts",
    "INSERT INTO question_responses",
    "INSERT INTO mastery_totals",
    "UPDATE enrollments",
    "INSERT INTO audit_events",
]
ONE_STATEMENT = ["WITH claim"]  # PostgreSQL: the same writes, each a WITH clause
QUIZ = "/courses/format-tour/basics/check"
COMPLETION_CHECK = 1  # the lessons done and quizzes passed (the version's items are in memory)


def signed_in_learner(app, country: str | None):  # noqa: ANN001
    """A client signed in as a learner of this country, enrolled in the sample course."""
    learner = make_user(country=country)
    course = db.session.scalar(select(Course))
    db.session.add(Enrollment(user_id=learner.id, course_id=course.id, enrolled_at=utcnow()))
    db.session.commit()
    client = app.test_client()
    sign_in(client, learner)
    return client


@pytest.fixture
def signed_in(app, imported_course):
    return signed_in_learner(app, "ID")


def open_attempt(client, quiz_url: str) -> tuple[str, str]:  # noqa: ANN001
    """Start an attempt; (its URL, its form's HTML)."""
    response = submit(client, quiz_url, {}, post_url=f"{quiz_url}/attempts")
    assert response.status_code == 302
    attempt_url = response.headers["Location"]
    return attempt_url, client.get(attempt_url).get_data(as_text=True)


def submitted(
    count_queries,  # noqa: ANN001
    client,  # noqa: ANN001
    quiz_url: str,
    *,
    right: bool,
    warm: bool = True,
) -> list[str]:
    """Submit a new attempt at the quiz; the statements the submission sent (by a worker that
    has graded this quiz before, unless `warm` is false)."""
    attempt_url, html = open_attempt(client, quiz_url)
    form = answer_form(html, right=right)
    if warm:
        attempt = db.session.scalars(select(QuizAttempt).order_by(QuizAttempt.id.desc())).first()
        catalog.cached_quiz_to_grade(db.session, attempt.version_id, attempt.quiz_key)
    with count_queries() as counter:
        response = client.post(attempt_url, data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == attempt_url
    return counter.statements


def kinds(statements: list[str]) -> list[str]:
    return [
        re.match(r"\s*(UPDATE \w+|INSERT INTO \w+|SELECT|WITH \w+)", s).group(1).replace('"', "")
        for s in statements
    ]


def writes(*, counted: bool = True) -> list[str]:
    """The writes of a submission on this database (without the mastery totals' upsert for a
    learner not `counted` in a country's)."""
    if db.engine.dialect.name == "postgresql":
        return ONE_STATEMENT
    return [w for w in SEPARATE_WRITES if counted or w != "INSERT INTO mastery_totals"]


@pytest.mark.parametrize(
    "quiz_url",
    [QUIZ, "/courses/format-tour/practice/timed"],
    ids=["four questions", "two drawn"],
)
def test_a_failed_submission_sends_one_read_and_five_writes(signed_in, count_queries, quiz_url):
    statements = submitted(count_queries, signed_in, quiz_url, right=False)
    assert kinds(statements) == ["SELECT"] * READS + writes(), statements
    assert "JOIN quiz_attempts" in statements[0] and "FROM user_sessions" in statements[0]
    attempt = db.session.scalar(select(QuizAttempt))
    assert attempt.submitted_at is not None and attempt.passed is False
    graded = db.session.scalar(select(func.count()).select_from(QuestionResponse))
    assert graded == len(attempt.layout)
    counted = db.session.scalar(select(func.sum(MasteryTotal.answers)))
    assert counted == len(attempt.layout)
    assert db.session.scalar(select(Enrollment.last_activity_at)) is not None
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("attempt.submitted") == 1


def test_a_workers_first_grading_of_a_quiz_reads_it_once(signed_in, count_queries):
    statements = submitted(count_queries, signed_in, QUIZ, right=False, warm=False)
    assert kinds(statements) == ["SELECT"] * (READS + QUIZ_LOAD) + writes(), statements
    assert "FROM quizzes" in statements[READS] and "FROM questions" in statements[READS + 1]
    attempt_url, html = open_attempt(signed_in, QUIZ)
    form = answer_form(html, right=False)
    with count_queries() as counter:
        assert signed_in.post(attempt_url, data=form).status_code == 302
    assert kinds(counter.statements) == ["SELECT"] * READS + writes(), counter.statements


def test_a_learner_without_a_country_adds_nothing_to_the_mastery_totals(
    app, imported_course, count_queries
):
    client = signed_in_learner(app, None)
    statements = submitted(count_queries, client, QUIZ, right=False)
    assert kinds(statements) == ["SELECT"] * READS + writes(counted=False)
    assert db.session.scalar(select(func.count()).select_from(MasteryTotal)) == 0


def test_a_pass_adds_only_the_completion_check(signed_in, count_queries):
    statements = submitted(
        count_queries, signed_in, "/courses/format-tour/basics/check", right=True
    )
    assert len(statements) == READS + len(writes()) + COMPLETION_CHECK, statements
    assert kinds(statements)[READS : READS + len(writes())] == writes()
    assert db.session.scalar(select(QuizAttempt.passed)) is True
    assert db.session.scalar(select(Enrollment.completed_at)) is None  # lessons still to do


def test_saving_answers_reads_only_the_attempt_and_its_questions(signed_in, count_queries):
    attempt_url, html = open_attempt(signed_in, QUIZ)
    data = {**answer_form(html, right=True), "action": "save"}
    with count_queries() as counter:
        assert signed_in.post(attempt_url, data=data).status_code == 302
    assert kinds(counter.statements) == ["SELECT"] * 3 + ["UPDATE quiz_attempts"]


def test_a_second_submission_compiles_no_statement(signed_in):
    """Statements built anew at each submission (rows written into VALUES, say) would be
    compiled again every time: a millisecond each on the busiest write."""
    misses: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if context is not None and context.cache_hit in (
            CacheStats.CACHE_MISS,
            CacheStats.NO_CACHE_KEY,
        ):
            misses.append(statement)

    attempt_url, html = open_attempt(signed_in, QUIZ)
    signed_in.post(attempt_url, data=answer_form(html, right=False))
    attempt_url, html = open_attempt(signed_in, QUIZ)
    form = answer_form(html, right=False)
    event.listen(db.engine, "after_cursor_execute", note)
    try:
        assert signed_in.post(attempt_url, data=form).status_code == 302
    finally:
        event.remove(db.engine, "after_cursor_execute", note)
    assert misses == []
