"""Generated from the URL map: every route that takes the id of a person, invitation, enrolment
or country refuses a focal point of another country and a learner (403 or 404), and sends an
anonymous visitor to sign in. A new route with such an id is covered without anyone adding it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Certificate,
    Course,
    Enrollment,
    Invitation,
    Quiz,
    QuizAttempt,
    Role,
    User,
    utcnow,
)
from app.services import grading, invitations
from tests.factories import csrf_token, make_country, make_user, sign_in

GUARDED_ARGUMENTS = {
    "user_id",
    "invitation_id",
    "enrollment_id",
    "country_id",
    "attempt_id",
    "certificate_id",
}


def guarded_rules(app) -> list:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.arguments & GUARDED_ARGUMENTS),
        key=lambda rule: rule.rule,
    )


@pytest.fixture
def country_a_records(app, imported_course):
    """A learner, an invitation and an enrolment in country A; returns the ids by argument."""
    country_a = make_country("ID", "Indonesia")
    focal_a = make_user(Role.FOCAL_POINT, country=country_a)
    learner_a = make_user(country=country_a)
    course = db.session.scalar(select(Course))
    enrolment = Enrollment(user_id=learner_a.id, course_id=course.id, enrolled_at=utcnow())
    db.session.add(enrolment)
    invitation = invitations.invite(
        db.session,
        email="pending@example.go.id",
        display_name="Pending Person",
        role="learner",
        country=country_a,
        invited_by=focal_a,
        visible_to_inviter=True,
    ).invitation
    db.session.commit()
    quiz = db.session.scalar(
        select(Quiz).where(
            Quiz.version_id == course.published_version_id, Quiz.key == "basics/check"
        )
    )
    attempt = grading.start_attempt(db.session, learner_a, course, quiz)
    certificate = Certificate(
        code="7KQ4-M2XW-9PHD-3RNA",
        user_id=learner_a.id,
        course_id=course.id,
        version_id=course.published_version_id,
        status_index=0,
        learner_name=learner_a.display_name,
        course_title="A course",
        course_version=1,
        hours=1.0,
        issuer_name="Issuer",
        credential={},
    )
    db.session.add(certificate)
    db.session.commit()
    return {
        "certificate_id": certificate.id,
        "attempt_id": attempt.id,
        "user_id": learner_a.id,
        "invitation_id": invitation.id,
        "enrollment_id": enrolment.id,
        "country_id": country_a.id,
    }


def requests_for(app, ids: dict) -> list[tuple[str, str]]:
    found = []
    for rule in guarded_rules(app):
        url = rule.build({name: ids[name] for name in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods & {"GET", "POST"}):
            found.append((method, url))
    return found


def send(client, method: str, url: str, token: str):
    if method == "POST":
        return client.post(url, data={"csrf_token": token})
    return client.get(url)


def assert_nothing_changed(ids: dict) -> None:
    learner = db.session.get(User, ids["user_id"])
    invitation = db.session.get(Invitation, ids["invitation_id"])
    enrolment = db.session.get(Enrollment, ids["enrollment_id"])
    db.session.refresh(learner)
    db.session.refresh(invitation)
    db.session.refresh(enrolment)
    assert learner.is_active and not learner.pending_approval and learner.role == "learner"
    assert invitation.withdrawn_at is None
    assert enrolment.unenrolled_at is None
    assert db.session.get(QuizAttempt, ids["attempt_id"]).submitted_at is None
    certificate = db.session.get(Certificate, ids["certificate_id"])
    db.session.refresh(certificate)
    assert certificate.revoked_at is None
    assert db.session.query(Certificate).count() == 1


def test_the_map_has_the_routes_this_test_must_guard(app):
    rules = {rule.rule for rule in guarded_rules(app)}
    assert "/focal/people/<int:user_id>" in rules
    assert "/focal/invitations/<int:invitation_id>/withdraw" in rules
    assert "/focal/enrollments/<int:enrollment_id>/unenrol" in rules
    assert "/admin/countries/<int:country_id>" in rules
    assert "/attempts/<int:attempt_id>" in rules
    assert "/admin/certificates/<int:certificate_id>/revoke" in rules
    assert len(rules) >= 10


@pytest.mark.parametrize("actor", ["focal point of another country", "learner"])
def test_others_get_403_or_404_on_every_guarded_route(app, country_a_records, actor):
    if actor == "learner":
        person = make_user(country="ID")
    else:
        person = make_user(Role.FOCAL_POINT, country=make_country("TH", "Thailand"))
    client = app.test_client()
    sign_in(client, person)
    token = csrf_token(client.get("/dashboard").get_data(as_text=True))
    checked = requests_for(app, country_a_records)
    for method, url in checked:
        response = send(client, method, url, token)
        assert response.status_code in (403, 404), (actor, method, url, response.status_code)
    assert len(checked) >= 10
    assert_nothing_changed(country_a_records)


def test_anonymous_visitors_are_sent_to_sign_in(app, country_a_records):
    client = app.test_client()
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    for method, url in requests_for(app, country_a_records):
        response = send(client, method, url, token)
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.headers["Location"].startswith("/auth/login"), (method, url)
    assert_nothing_changed(country_a_records)


def test_the_same_urls_work_for_those_who_may_use_them(app, country_a_records):
    """The refusals above are about who asks, not about a broken URL."""
    admin = make_user(Role.ADMIN, country=None)
    client = app.test_client()
    sign_in(client, admin)
    for method, url in requests_for(app, country_a_records):
        if method == "GET" and not url.startswith("/attempts/"):
            assert client.get(url).status_code == 200, url
    focal_a = db.session.scalar(select(User).where(User.role == Role.FOCAL_POINT.value))
    focal_client = app.test_client()
    sign_in(focal_client, focal_a)
    assert focal_client.get(f"/focal/people/{country_a_records['user_id']}").status_code == 200
    learner_a = db.session.get(User, country_a_records["user_id"])
    own = app.test_client()
    sign_in(own, learner_a)
    assert own.get(f"/attempts/{country_a_records['attempt_id']}").status_code == 200
