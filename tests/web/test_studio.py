"""Course authoring through the browser's requests: edit, check, preview, publish, roll back."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Course, DraftFile, Role
from tests.factories import csrf_token, make_user, sign_in, submit


@pytest.fixture
def admin_client(app, imported_course):
    client = app.test_client()
    sign_in(client, make_user(Role.ADMIN, country=None))
    return client


BASE = "/admin/courses/format-tour"
LESSON = f"{BASE}/edit/02-practice/01-scenario.md"


def start_draft(client) -> None:
    assert submit(client, BASE, {}, post_url=f"{BASE}/draft").status_code == 302


def save(client, url: str, content: str, *, revision: str | None = None):
    page = client.get(url).get_data(as_text=True)
    if revision is None:
        revision = re.search(r'name="revision" value="(\d+)"', page).group(1)
    return client.post(
        url,
        data={
            "csrf_token": csrf_token(page),
            "content": content,
            "revision": revision,
            "action": "save",
        },
    )


def test_only_admins_author(app, imported_course):
    focal = make_user(Role.FOCAL_POINT)
    client = app.test_client()
    sign_in(client, focal)
    assert client.get("/admin/courses/").status_code == 403
    assert app.test_client().get("/admin/courses/").status_code == 302


def test_edit_see_the_checker_fix_and_publish(admin_client, client):
    start_draft(admin_client)
    original = admin_client.get(LESSON).get_data(as_text=True)
    assert "Victims&#39; privacy comes first" in original or "privacy comes first" in original
    broken = save(admin_client, LESSON, "---\ntitle: The case\nminutes: 6\n---\n\nNew text.\n")
    assert broken.status_code == 302
    page = admin_client.get(LESSON).get_data(as_text=True)
    assert "missing the required key" in page and "sources" in page
    assert 'id="line-1" class="problem-line"' in page
    fixed = (
        "---\ntitle: The case\nminutes: 6\nsources:\n  - Trafficking in Persons Protocol, art. 6\n"
        "---\n\n## The case\n\nA rewritten case for learners.\n"
    )
    save(admin_client, LESSON, fixed)
    review = admin_client.get(f"{BASE}/publish").get_data(as_text=True)
    assert "+A rewritten case for learners." in review
    assert "Publish as the next version" in review
    # Learners still see version 1 until it is published.
    assert "A rewritten case" not in client.get("/courses/format-tour/practice/scenario").get_data(
        as_text=True
    )
    published = submit(admin_client, f"{BASE}/publish", {})
    assert published.status_code == 302
    assert "A rewritten case for learners." in client.get(
        "/courses/format-tour/practice/scenario"
    ).get_data(as_text=True)


def test_two_admins_saving_the_same_file_get_a_conflict_with_both_texts(app, admin_client):
    start_draft(admin_client)
    other = app.test_client()
    sign_in(other, make_user(Role.ADMIN, country=None))
    first_page = admin_client.get(LESSON).get_data(as_text=True)
    revision = re.search(r'name="revision" value="(\d+)"', first_page).group(1)
    save(other, LESSON, "---\ntitle: Theirs\n---\nTHEIR TEXT\n")
    response = save(admin_client, LESSON, "MY TEXT\n", revision=revision)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "someone else saved this file" in html.lower()
    assert "THEIR TEXT" in html and "MY TEXT" in html
    stored = db.session.scalar(
        select(DraftFile).where(DraftFile.path == "02-practice/01-scenario.md")
    )
    assert "THEIR TEXT" in stored.content


def test_preview_is_the_sanitised_html_learners_get(admin_client):
    start_draft(admin_client)
    page = admin_client.get(LESSON).get_data(as_text=True)
    text = "---\ntitle: x\n---\n\n## Heading\n\n<script>alert(1)</script>\n\n**bold**\n"
    data = {"csrf_token": csrf_token(page), "content": text, "revision": "1"}
    response = admin_client.post(LESSON, data={**data, "action": "preview"})
    html = response.get_data(as_text=True)
    assert "<strong>bold</strong>" in html and "<script>alert" not in html
    live = admin_client.post(f"{BASE}/preview/02-practice/01-scenario.md", data=data)
    assert "<strong>bold</strong>" in live.json["html"] and "script" not in live.json["html"]
    assert (
        admin_client.post(
            f"{BASE}/preview/02-practice/01-scenario.md", data={"content": text, "revision": "1"}
        ).status_code
        == 400
    )


def test_rollback_and_archive_from_the_course_page(admin_client, client):
    start_draft(admin_client)
    course_page = f"{BASE}/edit/course.md"
    text = admin_client.get(course_page).get_data(as_text=True)
    current = re.search(r"<textarea[^>]*>\n(.*?)</textarea>", text, re.S).group(1)
    import html as html_lib

    save(
        admin_client, course_page, html_lib.unescape(current).replace("A tour of", "A new tour of")
    )
    submit(admin_client, f"{BASE}/publish", {})
    assert "A new tour of" in client.get("/courses").get_data(as_text=True)
    submit(admin_client, BASE, {}, post_url=f"{BASE}/versions/1/republish")
    assert "A tour of the course format" in client.get("/courses").get_data(as_text=True)
    submit(admin_client, BASE, {"archived": "1"}, post_url=f"{BASE}/archive")
    assert "format" not in client.get("/courses").get_data(as_text=True)
    assert client.get("/courses/format-tour").status_code == 404


def test_zip_export_then_import_changes_nothing_and_bad_zips_are_refused(admin_client):
    exported = admin_client.get(f"{BASE}/versions/1.zip")
    assert exported.mimetype == "application/zip"
    assert admin_client.get(f"{BASE}/versions/1.zip").data == exported.data
    page = admin_client.get("/admin/courses/").get_data(as_text=True)
    response = admin_client.post(
        "/admin/courses/import",
        data={"csrf_token": csrf_token(page), "file": (io.BytesIO(exported.data), "x.zip")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "format-tour: unchanged (version 1)" in response.get_data(as_text=True)
    bad = admin_client.post(
        "/admin/courses/import",
        data={"csrf_token": csrf_token(page), "file": (io.BytesIO(b"not a zip"), "x.zip")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "not a zip archive" in bad.get_data(as_text=True)


def test_new_course_structure_and_images(admin_client, client):
    response = submit(
        admin_client,
        "/admin/courses/",
        {"title": "Draft course", "slug": "draft-course"},
        post_url="/admin/courses/new",
    )
    assert response.headers["Location"] == "/admin/courses/draft-course/edit"
    editor = "/admin/courses/draft-course/edit"
    submit(
        admin_client,
        editor,
        {"title": "Second", "slug": "second"},
        post_url="/admin/courses/draft-course/modules",
    )
    submit(
        admin_client,
        editor,
        {"module": "02-second", "kind": "quiz", "title": "Check", "slug": "check"},
        post_url="/admin/courses/draft-course/items",
    )
    page = admin_client.get(editor).get_data(as_text=True)
    assert "02-second/" in page and "01-check.md" in page
    fake = admin_client.post(
        "/admin/courses/draft-course/media",
        data={"csrf_token": csrf_token(page), "file": (io.BytesIO(b"<html>no</html>"), "map.png")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "SVG or HTML" in fake.get_data(as_text=True)
    assert client.get("/courses/draft-course").status_code == 404  # a draft is never public
    assert "Draft course" not in client.get("/courses").get_data(as_text=True)
    course = db.session.scalar(select(Course).where(Course.slug == "draft-course"))
    assert course.published_version_id is None


def test_a_gift_bank_is_added_to_a_quiz_and_what_is_left_out_is_listed(admin_client, app):
    from tests.conftest import ROOT

    start_draft(admin_client)
    editor = admin_client.get(f"{BASE}/edit").get_data(as_text=True)
    bank = (ROOT / "tests" / "fixtures" / "gift" / "unsupported.gift").read_bytes()
    response = admin_client.post(
        f"{BASE}/gift",
        data={
            "csrf_token": csrf_token(editor),
            "quiz": "01-basics/03-check.md",
            "file": (io.BytesIO(bank), "bank.gift"),
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "question(s) added to the draft" in html
    assert re.search(r"line \d+: .*matching", html, re.I)
    quiz = db.session.scalar(select(DraftFile).where(DraftFile.path == "01-basics/03-check.md"))
    assert quiz.content.count("\n## ") > 4


def test_the_cli_converts_a_gift_bank(app):
    from tests.conftest import ROOT

    bank = ROOT / "tests" / "fixtures" / "gift" / "choices.gift"
    result = app.test_cli_runner().invoke(args=["courses", "gift", str(bank)])
    assert result.exit_code == 0
    assert "## " in result.output and "- [x]" in result.output
    assert "question(s) converted." in result.output
