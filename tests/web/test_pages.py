"""The public pages, through real HTTP requests to the app."""

from __future__ import annotations

import re
from pathlib import Path

import markdown
import pytest
from sqlalchemy import select

from app.authoring.importer import import_course_folder
from app.extensions import db
from app.models import Question, Quiz


def test_catalogue_lists_the_published_course(client, imported_course):
    response = client.get("/courses")
    assert response.status_code == 200
    assert b"A tour of the course format" in response.data
    assert b'href="/courses/format-tour"' in response.data


def test_front_page_answers_without_any_course(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"No course has been published yet." in response.data


def test_course_overview_shows_modules_items_and_time(client, imported_course):
    html = client.get("/courses/format-tour").get_data(as_text=True)
    assert "<h1>A tour of the course format</h1>" in html
    assert "The basics" in html and "Practice" in html
    assert 'href="/courses/format-tour/basics/front-matter"' in html
    assert "Quiz, 5 min" in html
    assert "about 30 min" in html


def test_lesson_page_has_toc_breadcrumbs_and_neighbours(client, imported_course):
    html = client.get("/courses/format-tour/basics/links-and-code").get_data(as_text=True)
    assert '<nav aria-label="Breadcrumb"' in html
    assert '<a href="#code">Code</a>' in html
    assert 'rel="prev" href="/courses/format-tour/basics/front-matter"' in html
    assert 'rel="next" href="/courses/format-tour/basics/check"' in html
    assert html.count("<h1>") == 1


def test_lesson_page_renders_no_markdown_and_runs_a_bounded_number_of_queries(
    client, imported_course, count_queries, monkeypatch
):
    def refuse(*args, **kwargs):
        raise AssertionError("a page view must not render Markdown")

    monkeypatch.setattr(markdown.Markdown, "convert", refuse)
    with count_queries() as counter:
        response = client.get("/courses/format-tour/basics/front-matter")
    assert response.status_code == 200
    assert counter.count <= 2, counter.statements


def test_quiz_page_shows_questions_but_never_which_choices_are_correct(client, imported_course):
    html = client.get("/courses/format-tour/basics/check").get_data(as_text=True)
    quiz = db.session.scalar(select(Quiz).where(Quiz.key == "basics/check"))
    assert len(quiz.questions) == 4
    for question in quiz.questions:
        assert question.stem_html in html
        for choice in question.choices:
            # Each choice appears the same way, whether it is correct or not.
            assert f"<li>{choice['html']}</li>" in html
        for answer in question.accepted_answers:
            assert not re.search(rf"\b{re.escape(answer)}\b", _text_of_questions(html))
        explanation = re.sub(r"<[^>]+>", "", question.explanation_html).strip()
        assert explanation not in html
    assert "correct" not in html.lower()


def _text_of_questions(html: str) -> str:
    section = html[html.index('<ol class="questions">') :]
    return re.sub(r"<[^>]+>", " ", section)


def test_quiz_page_answers_404_for_every_unknown_address(client, imported_course):
    for url in (
        "/courses/nope",
        "/courses/nope/basics/check",
        "/courses/format-tour/nope/check",
        "/courses/format-tour/basics/nope",
        "/courses/format-tour/basics",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Page not found" in response.data


def test_lesson_with_hostile_markdown_never_reaches_the_page(client, app, course_folder: Path):
    lesson = course_folder / "02-practice" / "01-scenario.md"
    lesson.write_text(
        lesson.read_text(encoding="utf-8")
        + '\n<script>alert("x")</script>\n\n[go](javascript:alert(1))\n\n'
        '<img src="a.png" onerror="alert(1)" alt="">\n\n<iframe src="https://example.org"></iframe>\n',
        encoding="utf-8",
    )
    # javascript: links are refused by the checker; the rest is imported and sanitised.
    outcome = import_course_folder(db.session, course_folder)
    assert outcome.status == "rejected"
    assert any("only http, https and mailto links" in str(p) for p in outcome.problems)
    lesson.write_text(
        lesson.read_text(encoding="utf-8").replace("[go](javascript:alert(1))", ""), "utf-8"
    )
    assert import_course_folder(db.session, course_folder).status == "created"
    db.session.commit()
    html = client.get("/courses/format-tour/practice/scenario").get_data(as_text=True).lower()
    for forbidden in ("<script>alert", "javascript:", "onerror", "<iframe"):
        assert forbidden not in html


@pytest.mark.parametrize("url", ["/", "/courses", "/does-not-exist"])
def test_every_page_sends_a_strict_content_security_policy(client, url):
    response = client.get(url)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_each_security_header_is_sent_once_and_a_views_own_is_kept(app):
    from app.security import CONTENT_SECURITY_POLICY

    @app.get("/own-policy")
    def own_policy():  # noqa: ANN202
        return "framed", 200, {"X-Frame-Options": "SAMEORIGIN"}

    client = app.test_client()
    for url, frame_options in (("/", "DENY"), ("/own-policy", "SAMEORIGIN")):
        response = client.get(url)
        assert response.headers.getlist("X-Frame-Options") == [frame_options]
        assert response.headers.getlist("Content-Security-Policy") == [CONTENT_SECURITY_POLICY]
        for name in ("Referrer-Policy", "Cross-Origin-Opener-Policy", "Permissions-Policy"):
            assert len(response.headers.getlist(name)) == 1


def test_pages_carry_no_inline_script_or_style(client, imported_course):
    for url in ("/", "/courses", "/courses/format-tour", "/courses/format-tour/basics/check"):
        html = client.get(url).get_data(as_text=True)
        assert "<script" not in html
        assert "style=" not in html and "<style" not in html


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    from app import create_app
    from tests.conftest import make_config

    broken = create_app(make_config(f"sqlite:///{tmp_path / 'missing' / 'nowhere.sqlite3'}"))
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_question_rows_keep_the_answers_on_the_server(imported_course):
    correct = db.session.scalars(select(Question)).all()
    assert all(any(c["correct"] for c in q.choices) or q.accepted_answers for q in correct)
