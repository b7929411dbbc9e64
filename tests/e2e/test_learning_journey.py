"""A learner fails a quiz, retries, passes and completes a course; the focal point sees it."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Country, Course, Enrollment, Question, Role, User, utcnow
from app.services.passwords import hash_password

pytestmark = pytest.mark.e2e
PASSWORD = "a passphrase for the learning journey"


def plain(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def make_person(app, email: str, name: str, role: Role) -> None:
    with app.app_context():
        indonesia = db.session.scalar(select(Country).where(Country.code == "ID"))
        db.session.add(
            User(
                email=email,
                display_name=name,
                role=role.value,
                country=indonesia,
                password_hash=hash_password(PASSWORD),
            )
        )
        db.session.commit()


def sign_in(page, url: str, email: str) -> None:
    page.goto(f"{url}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/dashboard")


def answer(page, app, *, right: bool) -> None:
    """Answer every question on the attempt page, all right or all wrong."""
    with app.app_context():
        questions = {plain(q.stem_html): q for q in db.session.scalars(select(Question))}
    for fieldset in page.locator("fieldset").all():
        question = questions[" ".join(fieldset.locator("legend").inner_text().split())]
        if question.kind == "short":
            fieldset.get_by_label("Your answer").fill(
                question.accepted_answers[0] if right else "I do not know"
            )
            continue
        wanted = [c for c in question.choices if c["correct"] == right]
        for choice in wanted if right or question.kind == "multiple" else wanted[:1]:
            fieldset.get_by_label(plain(choice["html"]), exact=True).check()


def test_learner_completes_a_course_and_the_focal_point_sees_it(
    browser, live_server, assert_accessible, tmp_path
):
    url, app = live_server.url, live_server.app
    make_person(app, "learner.journey@example.go.id", "Ayu Wulandari", Role.LEARNER)
    make_person(app, "focal.journey@example.go.id", "Rudi Hartono", Role.FOCAL_POINT)
    with app.app_context():
        learner = db.session.scalar(
            select(User).where(User.email == "learner.journey@example.go.id")
        )
        course = db.session.scalar(select(Course).where(Course.slug == "format-tour"))
        db.session.add(Enrollment(user_id=learner.id, course_id=course.id, enrolled_at=utcnow()))
        db.session.commit()

    page = browser.new_context().new_page()
    sign_in(page, url, "learner.journey@example.go.id")
    page.get_by_role("link", name="Start A tour of the course format").click()
    assert_accessible(page)
    for _ in range(2):  # the two lessons of the first module
        page.get_by_role("button", name="Mark as complete").click()
    page.wait_for_url(f"{url}/courses/format-tour/basics/check")
    assert_accessible(page)

    page.get_by_role("button", name="Start attempt 1").click()
    assert_accessible(page)
    answer(page, app, right=False)
    with page.expect_navigation():  # read the page the click loads, not the one it leaves
        page.get_by_role("button", name="Submit for grading").click()
    assert "Not passed" in page.content()
    assert_accessible(page)

    page.get_by_role("button", name="Try again").click()
    answer(page, app, right=True)
    with page.expect_navigation():  # read the page the click loads, not the one it leaves
        page.get_by_role("button", name="Submit for grading").click()
    assert "Your score: <strong>100%</strong>" in page.content()
    assert_accessible(page)

    page.get_by_role("link", name="Back to the course").click()
    page.get_by_role("link", name="Continue where you left off").click()
    page.get_by_role("button", name="Mark as complete").click()
    page.wait_for_url(f"{url}/courses/format-tour/practice/timed")
    page.get_by_role("button", name="Start attempt 1").click()
    answer(page, app, right=True)
    with page.expect_navigation():  # read the page the click loads, not the one it leaves
        page.get_by_role("button", name="Submit for grading").click()
    assert "Passed." in page.content()

    page.goto(f"{url}/dashboard")
    completed = page.locator("h2:text-is('Completed') + ul.cards")
    assert "A tour of the course format" in completed.inner_text()
    assert "Completed " in completed.inner_text()
    assert_accessible(page)

    focal = browser.new_context(accept_downloads=True).new_page()
    sign_in(focal, url, "focal.journey@example.go.id")
    focal.goto(f"{url}/focal/report?course=format-tour")
    row = focal.locator("tr", has_text="Ayu Wulandari")
    assert "Completed" in row.inner_text()
    assert_accessible(focal)
    with focal.expect_download() as download_info:
        focal.get_by_role("link", name="Download CSV").click()
    saved = tmp_path / "report.csv"
    download_info.value.save_as(saved)
    text = saved.read_text(encoding="utf-8-sig")
    assert "Ayu Wulandari" in text and "Completed" in text
