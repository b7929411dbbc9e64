"""Reads on the hottest path run outside the ORM (app.direct_reads): they must return, and put
in the session, exactly what the ORM would, on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select

from app.direct_reads import DirectRead, column_keys, loaded
from app.extensions import db
from app.models import Course, QuizAttempt, User, utcnow
from tests.factories import make_user

_ATTEMPT = DirectRead(
    select(*(getattr(QuizAttempt, name) for name in column_keys(QuizAttempt))).where(
        QuizAttempt.id == bindparam("attempt_id")
    )
)


def an_attempt() -> int:
    """A graded attempt with a value of every kind: float, JSON, times, booleans."""
    course = db.session.scalar(select(Course))
    now = utcnow()
    attempt = QuizAttempt(
        user_id=make_user().id,
        course_id=course.id,
        quiz_key="basics/check",
        version_id=course.published_version_id,
        number=1,
        started_at=now - timedelta(minutes=3),
        deadline=now + timedelta(minutes=7),
        submitted_at=now,
        score=62.5,
        passed=False,
        layout=[{"question": 1, "choices": ["a", "b"]}],
        answers={"1": ["a"], "2": "árbol"},
    )
    db.session.add(attempt)
    db.session.commit()
    attempt_id = attempt.id
    db.session.expunge_all()
    return attempt_id


def test_a_direct_read_returns_what_the_orm_loads(app, imported_course):
    attempt_id = an_attempt()
    by_orm = db.session.get(QuizAttempt, attempt_id)
    expected = tuple(getattr(by_orm, name) for name in column_keys(QuizAttempt))
    db.session.expunge_all()
    for _ in range(2):  # the first read settles the conversions the driver's types decide
        row = _ATTEMPT.first(db.session, attempt_id=attempt_id)
        assert row == expected
        assert [type(value) for value in row] == [type(value) for value in expected]
    assert _ATTEMPT.first(db.session, attempt_id=attempt_id + 1000) is None


def test_a_row_read_directly_is_in_the_session_as_if_the_orm_loaded_it(app, imported_course):
    attempt_id = an_attempt()
    row = _ATTEMPT.first(db.session, attempt_id=attempt_id)
    values = dict(zip(column_keys(QuizAttempt), row, strict=True))
    attempt = loaded(db.session, QuizAttempt, values)
    assert db.session.get(QuizAttempt, attempt_id) is attempt  # no second object, no query
    assert not db.session.dirty and not db.session.new
    again = loaded(db.session, QuizAttempt, values)
    assert again is attempt
    # As the ORM's populate_existing: the object already there takes the row's values, unchanged
    # for the session (nothing to write back).
    refreshed = loaded(db.session, QuizAttempt, {**values, "score": 99.0}, refresh=True)
    assert refreshed is attempt and attempt.score == 99.0
    assert not db.session.dirty
    assert loaded(db.session, QuizAttempt, {**values, "score": 1.0}).score == 99.0
    attempt.score = 70.0
    db.session.commit()
    db.session.expunge_all()
    assert db.session.get(QuizAttempt, attempt_id).score == 70.0  # changes are saved


def test_related_objects_of_a_row_read_directly_load_as_usual(app):
    person_id = make_user(country="ID").id
    db.session.expunge_all()
    fields = column_keys(User)
    read = DirectRead(
        select(*(getattr(User, name) for name in fields)).where(User.id == bindparam("user_id"))
    )
    row = read.first(db.session, user_id=person_id)
    person = loaded(db.session, User, dict(zip(fields, row, strict=True)))
    assert person.country.code == "ID"
