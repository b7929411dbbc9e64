"""An admin edits a lesson in the browser, meets the checker, fixes it and publishes; a learner
sees the new text with their progress intact."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Course, Enrollment, LessonProgress, Role, User, utcnow
from app.services.passwords import hash_password

pytestmark = pytest.mark.e2e
PASSWORD = "a passphrase for the studio journey"
COURSE = "untoc-essentials"
LESSON = "01-purpose-and-scope/02-transnationality-and-domestic-law.md"


def sign_in(page, url: str, email: str) -> None:
    page.goto(f"{url}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/dashboard")


def test_admin_edits_checks_fixes_and_publishes(browser, live_server, assert_accessible):
    url, app = live_server.url, live_server.app
    with app.app_context():
        for email, role in (
            ("studio.admin@rso.example", Role.ADMIN),
            ("studio.learner@x.gov", Role.LEARNER),
        ):
            db.session.add(
                User(email=email, display_name=email.split("@")[0], role=role.value,
                     password_hash=hash_password(PASSWORD))
            )  # fmt: skip
        db.session.commit()
        learner = db.session.scalar(select(User).where(User.email == "studio.learner@x.gov"))
        course = db.session.scalar(select(Course).where(Course.slug == COURSE))
        db.session.add(Enrollment(user_id=learner.id, course_id=course.id, enrolled_at=utcnow()))
        db.session.add(
            LessonProgress(
                user_id=learner.id, course_id=course.id,
                item_key="purpose-and-scope/what-the-convention-is-for",
            )
        )  # fmt: skip
        db.session.commit()

    admin = browser.new_context().new_page()
    sign_in(admin, url, "studio.admin@rso.example")
    admin.goto(f"{url}/admin/courses/")
    assert_accessible(admin)
    admin.get_by_role("link", name="UNTOC essentials", exact=False).first.click()
    admin.get_by_role("button", name="Edit (start a draft)").click()
    admin.wait_for_url(f"{url}/admin/courses/{COURSE}/edit")
    assert_accessible(admin)
    admin.goto(f"{url}/admin/courses/{COURSE}/edit/{LESSON}")
    assert_accessible(admin)

    editor = admin.get_by_label(f"Markdown of {LESSON}")
    original = editor.input_value()
    broken = original.replace("minutes: ", "minuts: ", 1) + "\nA sentence added in the browser.\n"
    editor.fill(broken)
    admin.get_by_role("button", name="Preview without saving").click()
    assert "A sentence added in the browser." in admin.locator("#preview").inner_text()
    admin.get_by_label(f"Markdown of {LESSON}").fill(broken)
    admin.get_by_role("button", name="Save").click()
    alert = admin.locator(".alert.error").first.inner_text()
    assert "unknown front-matter key 'minuts'" in alert
    assert_accessible(admin)

    admin.get_by_label(f"Markdown of {LESSON}").fill(
        original + "\nA sentence added in the browser.\n"
    )
    with admin.expect_navigation():  # read the page the click loads, not the one it leaves
        admin.get_by_role("button", name="Save").click()
    assert "The checker finds no problem in the draft." in admin.content()
    admin.goto(f"{url}/admin/courses/{COURSE}/publish")
    assert "+A sentence added in the browser." in admin.content()
    assert_accessible(admin)
    admin.get_by_role("button", name="Publish as the next version").click()
    assert f"{COURSE}: updated, now version 2" in admin.content()

    learner_page = browser.new_context().new_page()
    sign_in(learner_page, url, "studio.learner@x.gov")
    learner_page.goto(f"{url}/courses/{COURSE}/purpose-and-scope/transnationality-and-domestic-law")
    assert "A sentence added in the browser." in learner_page.content()
    learner_page.goto(f"{url}/courses/{COURSE}")
    outline_item = learner_page.locator("ol.outline ul li", has_text="What the Convention is for")
    assert "Done" in outline_item.inner_text()
    assert_accessible(learner_page)
