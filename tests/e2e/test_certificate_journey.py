"""A learner's certificate: downloaded, checked by a stranger, revoked by an admin."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Certificate, Country, Course, Enrollment, Quiz, Role, User, utcnow
from app.services import grading, progress
from app.services.passwords import hash_password

pytestmark = pytest.mark.e2e
PASSWORD = "a passphrase for the certificate journey"


def person(email: str, name: str, role: Role, country_code: str | None = "TH") -> User:
    country = db.session.scalar(select(Country).where(Country.code == country_code))
    user = User(
        email=email,
        display_name=name,
        role=role.value,
        country=country if country_code else None,
        password_hash=hash_password(PASSWORD),
    )
    db.session.add(user)
    db.session.commit()
    return user


def complete(learner: User, course: Course) -> None:
    db.session.add(Enrollment(user_id=learner.id, course_id=course.id, enrolled_at=utcnow()))
    db.session.flush()
    for key in ("basics/front-matter", "basics/links-and-code", "practice/scenario"):
        progress.complete_lesson(db.session, learner, course, key)
    for key in ("basics/check", "practice/timed"):
        quiz = db.session.scalar(
            select(Quiz).where(Quiz.version_id == course.published_version_id, Quiz.key == key)
        )
        attempt = grading.start_attempt(db.session, learner, course, quiz)
        answers = {
            str(q.id): q.accepted_answers[0]
            if q.kind == "short"
            else [c["id"] for c in q.choices if c["correct"]]
            for q, _ in grading.attempt_questions(db.session, attempt)
        }
        grading.submit_attempt(
            db.session, attempt, answers, learner=learner, course=course, quiz=quiz
        )
    db.session.commit()


def sign_in(page, url: str, email: str) -> None:
    page.goto(f"{url}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/dashboard")


def test_download_check_and_revoke(browser, live_server, assert_accessible):
    url, app = live_server.url, live_server.app
    with app.app_context():
        learner = person("somchai.cert@example.go.th", "สมชาย ใจดี", Role.LEARNER)
        person("cert.admin@rso.example", "Certificate Admin", Role.ADMIN, None)
        course = db.session.scalar(select(Course).where(Course.slug == "format-tour"))
        complete(learner, course)
        certificate = db.session.scalar(
            select(Certificate).where(Certificate.user_id == learner.id)
        )
        code, certificate_id = certificate.code, certificate.id

    page = browser.new_context().new_page()
    sign_in(page, url, "somchai.cert@example.go.th")
    with page.expect_navigation():  # read the page the click loads, not the one it leaves
        page.get_by_role("link", name="Certificates", exact=True).click()
    assert code in page.content()
    assert_accessible(page)
    pdf_link = page.get_by_role("link", name="PDF of A tour of the course format")
    pdf = page.request.get(f"{url}{pdf_link.get_attribute('href')}")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    verify_href = page.get_by_role(
        "link", name="Verification page of A tour of the course format"
    ).get_attribute("href")

    visitor = browser.new_context().new_page()
    visitor.goto(f"{url}{verify_href}")
    assert "Valid." in visitor.locator(".verdict").inner_text()
    assert "สมชาย ใจดี" in visitor.content()
    assert_accessible(visitor)
    visitor.goto(f"{url}/verify")
    visitor.get_by_label("Certificate code").fill(code.lower().replace("-", " "))
    visitor.get_by_role("button", name="Check").click()
    visitor.wait_for_url(f"{url}/verify/{code}")
    assert_accessible(visitor)

    admin = browser.new_context().new_page()
    sign_in(admin, url, "cert.admin@rso.example")
    admin.goto(f"{url}/admin/certificates?q={code}")
    assert_accessible(admin)
    admin.get_by_role("link", name=code).click()
    admin.wait_for_url(f"{url}/admin/certificates/{certificate_id}")
    assert_accessible(admin)
    admin.get_by_label("Reason").select_option("identity")
    with admin.expect_navigation():  # read the page the click loads, not the one it leaves
        admin.get_by_role("button", name="Revoke this certificate").click()
    assert f"Certificate {code} is revoked." in admin.content()

    visitor.goto(f"{url}/verify/{code}")
    verdict = visitor.locator(".verdict").inner_text()
    assert "Revoked" in verdict and "Identity could not be confirmed" in verdict
    assert_accessible(visitor)
