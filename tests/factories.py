"""Test data factories, and a client helper that posts forms with their CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import count

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import (
    Country,
    Course,
    Enrollment,
    Question,
    QuestionResponse,
    QuizAttempt,
    Role,
    User,
    utcnow,
)
from app.services.passwords import hash_password

PASSWORD = "correct horse battery staple"
_sequence = count(1)


def make_country(code: str = "ID", name: str | None = None) -> Country:
    country = db.session.query(Country).filter_by(code=code).one_or_none()
    if country is None:
        country = Country(code=code, name=name or f"Country {code}", code3=None)
        db.session.add(country)
        db.session.flush()
    return country


def make_user(
    role: Role = Role.LEARNER,
    *,
    country: Country | str | None = "ID",
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    active: bool = True,
) -> User:
    if isinstance(country, str):
        country = make_country(country)
    number = next(_sequence)
    user = User(
        email=email or f"person{number}@example.gov",
        display_name=name or f"Person {number}",
        role=role.value,
        country=country,
        password_hash=hash_password(password),
        is_active=active,
    )
    db.session.add(user)
    db.session.commit()
    return user


def write_graded_attempt(
    person: User,
    course: Course,
    answers: Iterable[tuple[Question, float]],
    *,
    number: int = 1,
    quiz_key: str = "basics/check",
    passed: bool | None = None,
) -> QuizAttempt:
    """A submitted attempt with these (question, mark) answers, written straight to the tables
    (not graded: the caller brings the mastery totals up to date if it needs them)."""
    attempt = QuizAttempt(
        user_id=person.id,
        course_id=course.id,
        quiz_key=quiz_key,
        version_id=course.published_version_id,
        number=number,
        submitted_at=utcnow(),
        **({} if passed is None else {"passed": passed, "score": 90.0 if passed else 10.0}),
    )
    db.session.add(attempt)
    db.session.flush()
    db.session.add_all(
        QuestionResponse(
            attempt_id=attempt.id,
            question_id=question.id,
            user_id=person.id,
            course_id=course.id,
            mark=mark,
        )
        for question, mark in answers
    )
    return attempt


CSRF_FIELD = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def submit(
    client: FlaskClient, form_url: str, data: dict, *, post_url: str | None = None, **kwargs
) -> TestResponse:
    """Open the page with the form, read its CSRF token, and post the form as a browser would."""
    page = client.get(form_url)
    assert page.status_code == 200, (form_url, page.status_code)
    token = csrf_token(page.get_data(as_text=True))
    return client.post(post_url or form_url, data={"csrf_token": token, **data}, **kwargs)


def sign_in(client: FlaskClient, user: User, password: str = PASSWORD, **kwargs) -> TestResponse:
    response = submit(client, "/auth/login", {"email": user.email, "password": password, **kwargs})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def enrolled_learner_client(app: Flask) -> FlaskClient:
    """Inside the app's context, its tables created: the sample course imported, and a client
    signed in as a learner enrolled in it."""
    from app.authoring.importer import import_course_folder
    from tests.conftest import FIXTURE_COURSES

    import_course_folder(db.session, FIXTURE_COURSES / "format-tour")
    db.session.commit()
    learner = make_user()
    course_id = db.session.scalar(select(Course.id))
    db.session.add(Enrollment(user_id=learner.id, course_id=course_id, enrolled_at=utcnow()))
    db.session.commit()
    client = app.test_client()
    sign_in(client, learner)
    return client
