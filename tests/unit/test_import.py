"""Import is transactional and idempotent; export gives back the same files."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.authoring.importer import export_course, import_course_folder
from app.extensions import db
from app.models import Course, CourseVersion, Lesson, Question, SourceFile
from tests.conftest import FIXTURE_COURSES


def version_count() -> int:
    return db.session.scalar(select(func.count()).select_from(CourseVersion))


def test_importing_the_same_folder_twice_writes_nothing_the_second_time(app, count_queries):
    first = import_course_folder(db.session, FIXTURE_COURSES / "format-tour")
    db.session.commit()
    assert (first.status, first.version_number) == ("created", 1)
    with count_queries() as counter:
        second = import_course_folder(db.session, FIXTURE_COURSES / "format-tour")
        db.session.commit()
    assert (second.status, second.version_number) == ("unchanged", 1)
    assert counter.writes() == []
    assert version_count() == 1


def test_a_changed_lesson_creates_exactly_one_new_version(app, course_folder: Path):
    import_course_folder(db.session, course_folder)
    db.session.commit()
    lesson = course_folder / "02-practice" / "01-scenario.md"
    lesson.write_text(lesson.read_text(encoding="utf-8") + "\nA new closing line.\n", "utf-8")
    outcome = import_course_folder(db.session, course_folder)
    db.session.commit()
    assert (outcome.status, outcome.version_number) == ("updated", 2)
    assert version_count() == 2
    course = db.session.scalar(select(Course).where(Course.slug == "format-tour"))
    assert course.published_version.number == 2
    new_text = db.session.scalar(
        select(Lesson.body_html).where(
            Lesson.version_id == course.published_version_id, Lesson.key == "practice/scenario"
        )
    )
    assert "A new closing line." in new_text
    again = import_course_folder(db.session, course_folder)
    assert again.status == "unchanged"


def test_a_broken_folder_is_rejected_whole_and_the_published_version_stays(
    app, course_folder: Path, count_queries
):
    import_course_folder(db.session, course_folder)
    db.session.commit()
    lesson = course_folder / "02-practice" / "01-scenario.md"
    lesson.write_text(lesson.read_text(encoding="utf-8") + "\nChanged.\n", "utf-8")
    quiz = course_folder / "01-basics" / "03-check.md"
    quiz.write_text(quiz.read_text(encoding="utf-8").replace("pass_mark: 70", "pass_mark: 170"))
    with count_queries() as counter:
        outcome = import_course_folder(db.session, course_folder)
        db.session.commit()
    assert outcome.status == "rejected"
    assert any("pass_mark" in str(problem) for problem in outcome.problems)
    assert counter.writes() == []
    assert version_count() == 1
    course = db.session.scalar(select(Course).where(Course.slug == "format-tour"))
    assert course.published_version.number == 1


def test_import_command_reports_per_course_and_fails_on_a_broken_one(app, course_folder: Path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["courses", "import", str(course_folder.parent)])
    assert result.exit_code == 0, result.output
    assert "format-tour: created, now version 1" in result.output
    result = runner.invoke(args=["courses", "import", str(course_folder.parent)])
    assert "format-tour: unchanged (version 1)" in result.output
    (course_folder / "course.md").write_text("no front matter\n", encoding="utf-8")
    result = runner.invoke(args=["courses", "import", str(course_folder.parent)])
    assert result.exit_code == 1
    assert "course.md:1: must start with front matter" in result.output
    assert "format-tour: rejected" in result.output
    assert version_count() == 1


def test_export_gives_back_the_imported_bytes_and_reimport_writes_nothing(
    app, course_folder: Path, tmp_path: Path, count_queries
):
    # A byte-order mark and Windows line endings must survive the round trip.
    module = course_folder / "02-practice" / "module.md"
    module.write_bytes(b"\xef\xbb\xbf---\r\ntitle: Practice\r\n---\r\n")
    import_course_folder(db.session, course_folder)
    db.session.commit()
    target = export_course(db.session, "format-tour", tmp_path / "exported")
    original = {p.relative_to(course_folder): p.read_bytes() for p in course_folder.rglob("*.md")}
    exported = {p.relative_to(target): p.read_bytes() for p in target.rglob("*.md")}
    assert exported == original
    with count_queries() as counter:
        outcome = import_course_folder(db.session, target)
        db.session.commit()
    assert outcome.status == "unchanged"
    assert counter.writes() == []


def test_export_command_refuses_to_overwrite_without_being_asked(app, imported_course, tmp_path):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["courses", "export", imported_course, str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(args=["courses", "export", imported_course, str(tmp_path)])
    assert again.exit_code != 0
    assert "pass --overwrite" in again.output
    missing = runner.invoke(args=["courses", "export", "no-such-course", str(tmp_path)])
    assert "no published course 'no-such-course'" in missing.output


def test_import_stores_rendered_html_and_the_question_kinds(app, imported_course):
    kinds = db.session.scalars(select(Question.kind).order_by(Question.id)).all()
    assert set(kinds) == {"single", "multiple", "true_false", "short"}
    files = db.session.scalar(select(func.count()).select_from(SourceFile))
    assert files == 9
    lesson = db.session.scalar(select(Lesson).where(Lesson.key == "basics/front-matter"))
    assert '<div class="admonition example">' in lesson.body_html
    assert 'href="/courses/format-tour/basics/links-and-code#code"' in lesson.body_html
    assert [entry["id"] for entry in lesson.toc] == ["a-section", "a-smaller-section"]
