"""Mastery totals: always what summing the graded answers of each country's learners gives.

The expected totals are summed here in Python from every QuestionResponse and its person, not
with the service's own query, so that a mistake in either is seen.
"""

from __future__ import annotations

import random
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    Country,
    Course,
    Enrollment,
    MasteryTotal,
    QuestionResponse,
    Quiz,
    Role,
    User,
    utcnow,
)
from app.services import accounts, grading, mastery
from tests.factories import make_country, make_user

QUIZZES = ("basics/check", "practice/timed")
_people = count(1)

Totals = dict[tuple[int, int, int], tuple[int, float]]


def summed_answers() -> Totals:
    """(country, course, question) -> (answers, marks) of every learner with a country."""
    expected: Totals = {}
    rows = db.session.execute(
        select(
            User.role,
            User.country_id,
            QuestionResponse.course_id,
            QuestionResponse.question_id,
            QuestionResponse.mark,
        ).join(User, User.id == QuestionResponse.user_id)
    )
    for role, country_id, course_id, question_id, mark in rows:
        if role != Role.LEARNER.value or country_id is None:
            continue
        answers, earned = expected.get((country_id, course_id, question_id), (0, 0.0))
        expected[(country_id, course_id, question_id)] = (answers + 1, earned + mark)
    return expected


def stored_totals() -> Totals:
    return {
        (row.country_id, row.course_id, row.question_id): (row.answers, row.earned)
        for row in db.session.scalars(select(MasteryTotal))
    }


def assert_totals_are_the_answers() -> None:
    expected, stored = summed_answers(), stored_totals()
    assert sorted(stored) == sorted(expected)
    for key, (answers, earned) in expected.items():
        assert stored[key][0] == answers, key
        assert stored[key][1] == pytest.approx(earned, abs=1e-9), key


@pytest.fixture
def course(imported_course) -> Course:
    return db.session.scalar(select(Course).where(Course.slug == imported_course))


@pytest.fixture
def admin(app) -> User:
    return make_user(Role.ADMIN, country=None)


def person(course: Course, role: Role = Role.LEARNER, country: Country | None = None) -> User:
    """Someone enrolled in the course (no password: nobody signs in here)."""
    number = next(_people)
    user = User(
        email=f"mastery{number}@example.gov",
        display_name=f"Mastery {number}",
        role=role.value,
        country=country,
    )
    db.session.add(user)
    db.session.flush()
    db.session.add(Enrollment(user_id=user.id, course_id=course.id, enrolled_at=utcnow()))
    db.session.commit()
    return user


def some_answers(attempt, rng: random.Random) -> dict:  # noqa: ANN001
    """Right, wrong and half-right answers, as the random generator says."""
    answers = {}
    for question, choices in grading.attempt_questions(db.session, attempt):
        if question.kind == "short":
            answers[str(question.id)] = rng.choice([question.accepted_answers[0], "no idea"])
        elif question.kind == "multiple":
            answers[str(question.id)] = [c["id"] for c in choices if rng.random() < 0.5]
        else:
            answers[str(question.id)] = [rng.choice(choices)["id"]]
    return answers


def graded(who: User, course: Course, quiz_key: str, seed: int = 0) -> bool:
    """Start and submit an attempt at the quiz; False when no attempt is left."""
    quiz = db.session.scalar(
        select(Quiz).where(Quiz.version_id == course.published_version_id, Quiz.key == quiz_key)
    )
    try:
        attempt = grading.start_attempt(db.session, who, course, quiz)
    except grading.AttemptRefused:
        db.session.rollback()
        return False
    answers = some_answers(attempt, random.Random(seed))
    grading.submit_attempt(db.session, attempt, answers, learner=who, course=course, quiz=quiz)
    db.session.commit()
    return True


def moved(who: User, *, role: Role, country: Country | None, by: User) -> None:
    accounts.change_role(db.session, who, role=role.value, country=country, by=by)
    db.session.commit()


def test_the_totals_follow_submissions_and_changes_of_country_and_role(course, admin):
    indonesia, thailand = make_country("ID"), make_country("TH")
    budi, siti = person(course, country=indonesia), person(course, country=indonesia)
    somchai = person(course, country=thailand)
    focal = person(course, Role.FOCAL_POINT, indonesia)
    stateless = person(course)
    for number, who in enumerate([budi, siti, somchai, focal, stateless, budi]):
        assert graded(who, course, "basics/check", seed=number)
    assert graded(budi, course, "practice/timed", seed=7)
    assert_totals_are_the_answers()
    assert {country for country, _, _ in stored_totals()} == {indonesia.id, thailand.id}

    moved(budi, role=Role.LEARNER, country=thailand, by=admin)  # Indonesia to Thailand
    assert_totals_are_the_answers()
    moved(siti, role=Role.FOCAL_POINT, country=indonesia, by=admin)  # no longer counted
    assert_totals_are_the_answers()
    moved(focal, role=Role.LEARNER, country=indonesia, by=admin)  # counted from now on
    assert_totals_are_the_answers()
    moved(stateless, role=Role.LEARNER, country=indonesia, by=admin)  # given a country
    assert_totals_are_the_answers()
    moved(somchai, role=Role.LEARNER, country=None, by=admin)  # left without one
    assert_totals_are_the_answers()
    moved(budi, role=Role.ADMIN, country=None, by=admin)
    assert_totals_are_the_answers()
    accounts.set_active(db.session, focal, False, by=admin)  # the report still counts them
    db.session.commit()
    assert_totals_are_the_answers()
    assert graded(focal, course, "basics/check", seed=11)
    assert_totals_are_the_answers()


def test_a_question_nobody_of_the_country_answers_any_more_leaves_no_row(course, admin):
    indonesia, thailand = make_country("ID"), make_country("TH")
    budi = person(course, country=indonesia)
    assert graded(budi, course, "practice/timed")
    moved(budi, role=Role.LEARNER, country=thailand, by=admin)
    assert {country for country, _, _ in stored_totals()} == {thailand.id}
    assert_totals_are_the_answers()


def test_rebuild_gives_what_the_answers_give(course):
    indonesia = make_country("ID")
    learner, stateless = person(course, country=indonesia), person(course)
    focal = person(course, Role.FOCAL_POINT, indonesia)
    for number, who in enumerate([learner, stateless, focal]):
        graded(who, course, "basics/check", seed=number)
    db.session.execute(update(MasteryTotal).values(answers=99))
    mastery.rebuild(db.session)
    db.session.commit()
    assert_totals_are_the_answers()
    assert stored_totals()  # something to compare
    assert {
        (country, course_id, question): (answers, pytest.approx(earned))
        for country, course_id, question, answers, earned in db.session.execute(
            mastery.totals_from_answers()
        )
    } == summed_answers()


PLACES = [None, "ID", "TH"]
ROLES = [Role.LEARNER, Role.LEARNER, Role.FOCAL_POINT, Role.ADMIN]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.integers(0, 3), st.sampled_from(QUIZZES), st.integers()),
        st.tuples(
            st.just("move"), st.integers(0, 3), st.sampled_from(ROLES), st.sampled_from(PLACES)
        ),
        st.tuples(st.just("deactivate"), st.integers(0, 3)),
    ),
    max_size=10,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.lists(
        st.tuples(st.sampled_from(ROLES), st.sampled_from(PLACES)), min_size=4, max_size=4
    ),
    steps=steps,
)
def test_any_sequence_of_changes_keeps_the_totals_equal_to_the_answers(course, admin, start, steps):
    # The examples share one database: the totals must hold for everyone at every step.
    countries = {code: make_country(code) if code else None for code in PLACES}
    people = [person(course, role, countries[place]) for role, place in start]
    for step in steps:
        who = people[step[1]]
        if step[0] == "submit":
            graded(who, course, step[2], seed=step[3])
        elif step[0] == "move":
            role, country = step[2], countries[step[3]]
            if role == Role.FOCAL_POINT and country is None:
                continue  # refused: a focal point needs a country
            moved(who, role=role, country=country, by=admin)
        else:
            accounts.set_active(db.session, who, not who.is_active, by=admin)
            db.session.commit()
        assert_totals_are_the_answers()
