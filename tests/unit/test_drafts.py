"""Authoring: drafts, conflicts, publishing, rollback, archive, zips, and learners' progress."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest
from sqlalchemy import func, select

from app.authoring.archive import ArchiveRefused, tree_from_zip, zip_of_files
from app.authoring.importer import export_course, import_course_folder
from app.authoring.parse import find_course_folders, read_course_tree, tree_from_folder
from app.extensions import db
from app.models import (
    Course,
    CourseVersion,
    Enrollment,
    LessonProgress,
    Quiz,
    Role,
    SourceFile,
    utcnow,
)
from app.services import drafts, grading, progress
from tests.conftest import ROOT
from tests.factories import make_user


@pytest.fixture
def admin(app):
    return make_user(Role.ADMIN, country=None)


@pytest.fixture
def course(imported_course) -> Course:
    return db.session.scalar(select(Course).where(Course.slug == imported_course))


def edit(course: Course, path: str, change, by) -> None:  # noqa: ANN001
    file = drafts.draft_file(db.session, course, path)
    drafts.save_file(db.session, course, path, change(file.content), revision=file.revision, by=by)


def test_progress_survives_a_new_lesson_a_reworded_quiz_and_reordered_modules(course, admin):
    learner = make_user()
    db.session.add(Enrollment(user_id=learner.id, course_id=course.id, enrolled_at=utcnow()))
    db.session.flush()
    for key in ("basics/front-matter", "basics/links-and-code"):
        progress.complete_lesson(db.session, learner, course, key)
    quiz = db.session.scalar(
        select(Quiz).where(
            Quiz.version_id == course.published_version_id, Quiz.key == "basics/check"
        )
    )
    attempt = grading.start_attempt(db.session, learner, course, quiz)
    answers = {
        str(q.id): q.accepted_answers[0]
        if q.kind == "short"
        else [c["id"] for c in q.choices if c["correct"]]
        for q, _ in grading.attempt_questions(db.session, attempt)
    }
    grading.submit_attempt(db.session, attempt, answers, learner=learner, course=course, quiz=quiz)
    db.session.commit()
    before = progress.course_progress(db.session, learner, course)
    assert before.done == {"basics/front-matter", "basics/links-and-code", "basics/check"}

    drafts.start_draft(db.session, course, by=admin)
    drafts.create_item(
        db.session, course, module="01-basics", slug="a-new-lesson", kind="lesson",
        title="A new lesson", by=admin,
    )  # fmt: skip
    edit(
        course,
        "01-basics/03-check.md",
        lambda text: text.replace(
            "## For an adult victim, which elements must be proved?",
            "## Which elements must the prosecution prove for an adult victim?",
        ),
        admin,
    )
    drafts.move(db.session, course, path="02-practice", direction=-1, by=admin)
    outcome = drafts.publish(db.session, course, by=admin)
    db.session.commit()
    assert (outcome.status, outcome.version_number) == ("updated", 2), outcome.problems

    db.session.refresh(course)
    version = course.published_version
    assert [m["slug"] for m in version.outline] == ["practice", "basics"]
    after = progress.course_progress(db.session, learner, course)
    assert before.done <= after.done
    assert "basics/a-new-lesson" not in after.done
    assert after.total == before.total + 1
    assert db.session.scalar(select(func.count()).select_from(LessonProgress)) == 2


def test_the_second_save_of_the_same_file_is_a_conflict_and_loses_nothing(course, admin):
    other = make_user(Role.ADMIN, country=None)
    drafts.start_draft(db.session, course, by=admin)
    opened = drafts.draft_file(db.session, course, "course.md").revision
    drafts.save_file(
        db.session, course, "course.md", "first author's text\n", revision=opened, by=admin
    )
    with pytest.raises(drafts.EditConflict) as conflict:
        drafts.save_file(
            db.session, course, "course.md", "second author's text\n", revision=opened, by=other
        )
    assert conflict.value.current.content == "first author's text\n"
    assert drafts.draft_file(db.session, course, "course.md").content == "first author's text\n"


def test_a_draft_with_problems_is_not_published_and_learners_never_see_a_draft(course, admin):
    drafts.start_draft(db.session, course, by=admin)
    edit(
        course,
        "01-basics/03-check.md",
        lambda t: t.replace("pass_mark: 70", "pass_mark: 170"),
        admin,
    )
    outcome = drafts.publish(db.session, course, by=admin)
    assert outcome.status == "rejected"
    assert any(p.path == "01-basics/03-check.md" and p.line == 4 for p in outcome.problems)
    db.session.rollback()
    db.session.refresh(course)
    assert course.published_version.number == 1
    assert db.session.scalar(select(func.count()).select_from(CourseVersion)) == 1


def test_the_publish_review_counts_learners_on_items_that_would_go(course, admin):
    learner = make_user()
    db.session.add(Enrollment(user_id=learner.id, course_id=course.id, enrolled_at=utcnow()))
    db.session.flush()
    progress.complete_lesson(db.session, learner, course, "practice/scenario")
    drafts.start_draft(db.session, course, by=admin)
    drafts.rename(
        db.session, course, path="02-practice/01-scenario.md", slug="case-study", by=admin
    )
    source, problems = drafts.check_draft(db.session, course)
    assert problems == []
    removed = drafts.removed_items_with_progress(db.session, course, source)
    assert [(r.key, r.learners) for r in removed] == [("practice/scenario", 1)]
    diffs = {d.path: d.status for d in drafts.diff_against_published(db.session, course)}
    assert diffs["02-practice/01-scenario.md"] == "removed"
    assert diffs["02-practice/01-case-study.md"] == "added"


def test_rollback_republishes_an_earlier_version_and_archive_hides_the_course(course, admin):
    drafts.start_draft(db.session, course, by=admin)
    edit(
        course,
        "course.md",
        lambda t: t.replace("A tour of the course format", "Renamed tour"),
        admin,
    )
    drafts.publish(db.session, course, by=admin)
    outcome = drafts.republish(db.session, course, number=1, by=admin)
    db.session.commit()
    db.session.refresh(course)
    assert outcome.version_number == 3
    assert course.published_version.title == "A tour of the course format"
    drafts.set_archived(db.session, course, True, by=admin)
    db.session.commit()
    from app.services.catalog import published_courses

    assert published_courses(db.session) == []


def test_every_course_in_courses_survives_export_then_import_unchanged(app, tmp_path):
    folders, _ = find_course_folders(ROOT / "courses")
    for folder in folders:
        assert import_course_folder(db.session, folder).status == "created"
    db.session.commit()
    for folder in folders:
        target = export_course(db.session, folder.name, tmp_path / "export")
        assert tree_from_folder(target).files == tree_from_folder(folder).files
        assert import_course_folder(db.session, target).status == "unchanged"
        files = db.session.scalars(
            select(SourceFile).join(Course, Course.published_version_id == SourceFile.version_id)
            .where(Course.slug == folder.name)
        ).all()  # fmt: skip
        archive = zip_of_files(folder.name, ((f.path, f.raw) for f in files))
        assert zip_of_files(folder.name, ((f.path, f.raw) for f in files)) == archive
        slug, tree = tree_from_zip(archive, fallback_slug="x")
        assert slug == folder.name and tree.files == tree_from_folder(folder).files
    assert db.session.scalar(select(func.count()).select_from(CourseVersion)) == len(folders)


def zip_with(entries: list[tuple[str, bytes]], *, symlink: str | None = None) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return output.getvalue()


@pytest.mark.parametrize(
    ("archive", "reason"),
    [
        (zip_with([("course/../../evil.md", b"x")]), "points outside its folder"),
        (zip_with([("/etc/evil.md", b"x")]), "absolute"),
        (zip_with([("course/course.md", b"x")], symlink="course/01-a/01-link.md"), "symbolic link"),
        (zip_with([("course/bomb.md", b"0" * (61 * 1024 * 1024))]), "zip bomb"),
        (b"this is not a zip at all", "not a zip"),
    ],
)
def test_dangerous_zips_are_refused_whole(archive: bytes, reason: str):
    with pytest.raises(ArchiveRefused, match=reason):
        tree_from_zip(archive, fallback_slug="course")


def test_bad_files_inside_a_zip_are_reported_by_the_checker(tmp_path):
    from tests.conftest import FIXTURE_COURSES

    tree = tree_from_folder(FIXTURE_COURSES / "format-tour")
    tree.files["02-practice/01-scenario.md"] = "caf\xe9".encode("latin-1")
    tree.files["02-practice/03-huge.md"] = b"---\ntitle: x\n---\n" + b"word " * (1024 * 1024)
    tree.files["media/photo.png"] = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    slug, unpacked = tree_from_zip(
        zip_of_files("format-tour", tree.files.items()), fallback_slug="x"
    )
    course, problems = read_course_tree(slug, unpacked, slug)
    messages = "\n".join(map(str, problems))
    assert course is None
    assert "01-scenario.md:1: is not UTF-8 text" in messages
    assert "03-huge.md:1: is 5,242,897 bytes; a course file may be at most 1 MiB" in messages
    assert "media/photo.png:1: is SVG or HTML" in messages


def test_a_new_course_starts_as_a_checkable_draft(app, admin, tmp_path):
    course = drafts.new_course(db.session, slug="new-course", title='A "quoted" title', by=admin)
    source, problems = drafts.check_draft(db.session, course)
    assert problems == [] and source.title == 'A "quoted" title'
    outcome = drafts.publish(db.session, course, by=admin)
    assert outcome.status == "created"
    with pytest.raises(Exception, match="exists already"):
        drafts.new_course(db.session, slug="new-course", title="Again", by=admin)


def test_structure_operations_renumber_and_rename(app, admin, course):
    drafts.start_draft(db.session, course, by=admin)
    drafts.create_module(db.session, course, slug="extra", title="Extra", by=admin)
    drafts.create_item(
        db.session, course, module="03-extra", slug="first", kind="quiz", title="Q", by=admin
    )
    drafts.move(db.session, course, path="01-basics/02-links-and-code.md", direction=-1, by=admin)
    paths = [f.path for f in drafts.draft_files(db.session, course)]
    assert "01-basics/01-links-and-code.md" in paths and "01-basics/02-front-matter.md" in paths
    assert "03-extra/01-first.md" in paths
    drafts.remove(db.session, course, path="03-extra", by=admin)
    assert not any(
        p.startswith("03-extra") for p in (f.path for f in drafts.draft_files(db.session, course))
    )
    source, problems = drafts.check_draft(db.session, course)
    assert problems == []


def test_export_gives_back_images_byte_for_byte(app, course, tmp_path):
    from tests.conftest import FIXTURE_COURSES

    target = export_course(db.session, course.slug, tmp_path)
    original = FIXTURE_COURSES / "format-tour" / "media" / "three-elements.png"
    assert (target / "media" / "three-elements.png").read_bytes() == original.read_bytes()
