"""Authoring in the browser: a course's draft, its checks, publishing, rollback, archive.

A draft is the course folder's files held in the database (`draft_files`), edited one file at
a time. Learners never see it. Publishing runs the same checker and the same import as
`flask courses import`, so a published draft becomes the course's next immutable version.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, undefer

from app.authoring.gift import GiftReport, gift_to_markdown, read_gift_bytes
from app.authoring.importer import ImportOutcome, import_course_source
from app.authoring.media import MediaRefused, check_image
from app.authoring.parse import (
    NAME_PATTERN,
    CourseTree,
    link_targets,
    read_course_tree,
    resolve_link,
)
from app.authoring.source import CourseSource, Problem
from app.models import (
    Course,
    CourseVersion,
    DraftFile,
    LessonProgress,
    QuizAttempt,
    SourceFile,
    User,
    utcnow,
)
from app.services import audit
from app.services.errors import DomainError, NotFound

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class EditConflict(DomainError):
    """Someone saved this file since it was opened; both texts are kept for the author."""

    def __init__(self, current: DraftFile) -> None:
        super().__init__("Someone else saved this file after you opened it.")
        self.current = current


@dataclass(frozen=True)
class FileDiff:
    path: str
    status: str  # added | removed | changed
    lines: list[str]


@dataclass(frozen=True)
class RemovedItem:
    key: str
    title: str
    learners: int


# --- reading ----------------------------------------------------------------------------


def draft_files(session: Session, course: Course) -> list[DraftFile]:
    return list(
        session.scalars(
            select(DraftFile)
            .where(DraftFile.course_id == course.id)
            .options(undefer(DraftFile.data))
            .order_by(DraftFile.path)
        )
    )


def has_draft(session: Session, course: Course) -> bool:
    return (
        session.scalar(select(DraftFile.id).where(DraftFile.course_id == course.id).limit(1))
        is not None
    )


def draft_file(session: Session, course: Course, path: str) -> DraftFile:
    found = session.scalar(
        select(DraftFile).where(DraftFile.course_id == course.id, DraftFile.path == path)
    )
    if found is None:
        raise NotFound(f"no file {path!r} in the draft")
    return found


def tree_of(files: list[DraftFile]) -> CourseTree:
    return CourseTree(files={f.path: f.raw for f in files})


def check_draft(session: Session, course: Course) -> tuple[CourseSource | None, list[Problem]]:
    """The checker of `flask courses check`, run on the draft. Problem paths are relative."""
    return read_course_tree(course.slug, tree_of(draft_files(session, course)), "")


# --- starting, creating -----------------------------------------------------------------


def start_draft(session: Session, course: Course, *, by: User) -> None:
    """Copy the published version's files into a draft, unless one exists."""
    if has_draft(session, course):
        return
    if course.published_version_id is None:
        raise DomainError("This course has no published version to start from.")
    sources = session.scalars(
        select(SourceFile)
        .where(SourceFile.version_id == course.published_version_id)
        .options(undefer(SourceFile.data))
    )
    for source in sources:
        session.add(
            DraftFile(
                course_id=course.id,
                path=source.path,
                content=source.content,
                data=source.data,
                updated_by_id=by.id,
            )
        )
    audit.record(session, "draft.started", actor=by, target=course, course=course.slug)
    session.flush()


COURSE_TEMPLATE = """---
title: {title}
summary: One or two sentences for the catalogue.
language: en
level: introductory
minutes: 30
certificate: true
open: false
---

Who the course is for, what they will be able to do, and which RSO policy guide it follows.
"""
MODULE_TEMPLATE = "---\ntitle: {title}\n---\n\nWhat this module covers, in a sentence or two.\n"
LESSON_TEMPLATE = """---
title: {title}
minutes: 5
sources:
  - Name the instrument and article, e.g. Trafficking in Persons Protocol, art. 3
---

An opening paragraph.

## A first section

Write the lesson here.
"""
QUIZ_TEMPLATE = """---
type: quiz
title: {title}
pass_mark: 70
shuffle: true
---

## Write the first question here?

- [x] The right answer
- [ ] A wrong answer

> The explanation shown after submitting, citing the article (art. N).

tests: UNTOC art. 2
"""


def new_course(session: Session, *, slug: str, title: str, by: User) -> Course:
    """A course that exists only as a draft, with one module and one lesson to start from."""
    if not SLUG.match(slug):
        raise DomainError("The address must be lowercase letters, digits and hyphens.")
    course = Course(slug=slug)
    try:
        with session.begin_nested():
            session.add(course)
            session.flush()
    except IntegrityError:
        raise DomainError(f"A course with the address {slug!r} exists already.") from None
    for path, text in (
        ("course.md", COURSE_TEMPLATE.format(title=_yaml_text(title))),
        ("01-introduction/module.md", MODULE_TEMPLATE.format(title="Introduction")),
        ("01-introduction/01-first-lesson.md", LESSON_TEMPLATE.format(title="First lesson")),
    ):
        session.add(DraftFile(course_id=course.id, path=path, content=text, updated_by_id=by.id))
    audit.record(session, "course.created", actor=by, target=course, course=slug)
    session.flush()
    return course


def _yaml_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').strip() + '"'


# --- editing ----------------------------------------------------------------------------


def save_file(
    session: Session,
    course: Course,
    path: str,
    content: str,
    *,
    revision: int,
    by: User,
    now: datetime | None = None,
) -> DraftFile:
    """Save one file if nobody saved it since `revision`; otherwise EditConflict."""
    found = draft_file(session, course, path)
    if found.data is not None:
        raise DomainError("Images are replaced by uploading, not edited as text.")
    saved = session.execute(
        update(DraftFile)
        .where(DraftFile.id == found.id, DraftFile.revision == revision)
        .values(
            content=content.replace("\r\n", "\n") if "\r\n" not in found.content else content,
            revision=DraftFile.revision + 1,
            updated_at=now or utcnow(),
            updated_by_id=by.id,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(found)
    if saved != 1:
        raise EditConflict(found)
    audit.record(session, "draft.file_saved", actor=by, target=course, path=path)
    return found


def _entries(files: list[DraftFile], folder: str) -> list[str]:
    """Names of numbered entries directly in `folder` ("" is the course root)."""
    names = set()
    prefix = f"{folder}/" if folder else ""
    for draft in files:
        if draft.path.startswith(prefix):
            head = draft.path[len(prefix) :].split("/", 1)[0]
            stem = head[:-3] if head.endswith(".md") else head
            if NAME_PATTERN.match(stem):
                names.add(head)
    return sorted(names, key=lambda name: (int(name.split("-", 1)[0]), name))


def _next_number(files: list[DraftFile], folder: str) -> int:
    numbers = [int(name.split("-", 1)[0]) for name in _entries(files, folder)]
    return max(numbers, default=0) + 1


def create_module(session: Session, course: Course, *, slug: str, title: str, by: User) -> str:
    files = draft_files(session, course)
    if not SLUG.match(slug):
        raise DomainError("A module's slug is lowercase letters, digits and hyphens.")
    if any(name.split("-", 1)[1] == slug for name in _entries(files, "")):
        raise DomainError(f"The course has a module {slug!r} already.")
    folder = f"{_next_number(files, ''):02d}-{slug}"
    session.add(
        DraftFile(
            course_id=course.id,
            path=f"{folder}/module.md",
            content=MODULE_TEMPLATE.format(title=_yaml_text(title)),
            updated_by_id=by.id,
        )
    )
    audit.record(session, "draft.module_created", actor=by, target=course, path=folder)
    session.flush()
    return f"{folder}/module.md"


def create_item(
    session: Session, course: Course, *, module: str, slug: str, kind: str, title: str, by: User
) -> str:
    files = draft_files(session, course)
    if module not in _entries(files, ""):
        raise NotFound(f"no module {module!r}")
    if not SLUG.match(slug):
        raise DomainError("A slug is lowercase letters, digits and hyphens.")
    if any(name[:-3].split("-", 1)[1] == slug for name in _entries(files, module)):
        raise DomainError(f"The module has an item {slug!r} already.")
    template = QUIZ_TEMPLATE if kind == "quiz" else LESSON_TEMPLATE
    path = f"{module}/{_next_number(files, module):02d}-{slug}.md"
    session.add(
        DraftFile(
            course_id=course.id,
            path=path,
            content=template.format(title=_yaml_text(title)),
            updated_by_id=by.id,
        )
    )
    audit.record(session, "draft.item_created", actor=by, target=course, path=path)
    session.flush()
    return path


def _move_paths(session: Session, course: Course, renames: dict[str, str]) -> None:
    """Rename files and folders (old prefix -> new prefix), and rewrite every relative link
    in the draft that pointed at a moved file, or out of one, so that nothing breaks."""
    files = draft_files(session, course)
    moved: dict[str, str] = {}
    for draft in files:
        for old, new in renames.items():
            if draft.path == old or draft.path.startswith(f"{old}/"):
                moved[draft.path] = new + draft.path[len(old) :]
                break
    for draft in files:
        if draft.data is None and draft.path.endswith(".md"):
            rewritten = _rewrite_links(draft.content, draft.path, moved)
            if rewritten != draft.content:
                draft.content = rewritten
                draft.revision += 1
    # Through a temporary name first, so swapping two names never collides.
    for draft in files:
        if draft.path in moved:
            draft.path = "~moving~/" + moved[draft.path]
    session.flush()
    for draft in files:
        if draft.path.startswith("~moving~/"):
            draft.path = draft.path[len("~moving~/") :]
            draft.revision += 1
    session.flush()


def _rewrite_links(text: str, own_path: str, moved: dict[str, str]) -> str:
    new_own = moved.get(own_path, own_path)
    for _, target, _, _ in link_targets(text):
        resolved = resolve_link(own_path, target)
        if resolved is None:
            continue
        new_target = moved.get(resolved, resolved)
        if new_target == resolved and new_own == own_path:
            continue
        relative = posixpath.relpath(new_target, posixpath.dirname(new_own) or ".")
        fragment = "#" + target.split("#", 1)[1] if "#" in target else ""
        replacement = relative + fragment
        for before, after in (
            (f"]({target})", f"]({replacement})"),
            (f"]({target} ", f"]({replacement} "),
            (f"]: {target}", f"]: {replacement}"),
        ):
            text = text.replace(before, after)
    return text


def rename(session: Session, course: Course, *, path: str, slug: str, by: User) -> str:
    """New slug, same place. Learners' progress on the old key will not carry over."""
    if not SLUG.match(slug):
        raise DomainError("A slug is lowercase letters, digits and hyphens.")
    folder, _, name = path.rpartition("/")
    suffix = ".md" if name.endswith(".md") else ""
    number = name.split("-", 1)[0]
    new_name = f"{number}-{slug}{suffix}"
    siblings = _entries(draft_files(session, course), folder)
    if any(s != name and s.split("-", 1)[1] == f"{slug}{suffix}" for s in siblings):
        raise DomainError(f"{slug!r} is used here already.")
    new_path = f"{folder}/{new_name}" if folder else new_name
    _move_paths(session, course, {path: new_path})
    audit.record(session, "draft.renamed", actor=by, target=course, path=path, to=new_path)
    return new_path


def move(session: Session, course: Course, *, path: str, direction: int, by: User) -> None:
    """Move a module or an item up (-1) or down (+1), renumbering its folder 01, 02, ..."""
    folder, _, name = path.rpartition("/")
    entries = _entries(draft_files(session, course), folder)
    if name not in entries:
        raise NotFound(f"no {path!r}")
    index = entries.index(name)
    target = index + direction
    if not 0 <= target < len(entries):
        return
    entries[index], entries[target] = entries[target], entries[index]
    renames = {}
    for number, entry in enumerate(entries, start=1):
        renamed = f"{number:02d}-{entry.split('-', 1)[1]}"
        if renamed != entry:
            old = f"{folder}/{entry}" if folder else entry
            renames[old] = f"{folder}/{renamed}" if folder else renamed
    _move_paths(session, course, renames)
    audit.record(session, "draft.reordered", actor=by, target=course, path=path)


def remove(session: Session, course: Course, *, path: str, by: User) -> None:
    """Delete a file, or a module folder with everything in it."""
    deleted = session.execute(
        delete(DraftFile).where(
            DraftFile.course_id == course.id,
            (DraftFile.path == path) | DraftFile.path.startswith(f"{path}/"),
        )
    ).rowcount
    if not deleted:
        raise NotFound(f"no {path!r}")
    audit.record(session, "draft.deleted", actor=by, target=course, path=path)
    session.flush()


def upload_media(session: Session, course: Course, *, name: str, data: bytes, by: User) -> str:
    """Add or replace an image in media/, after checking it by its content."""
    try:
        check_image(name, data)
    except MediaRefused as refused:
        raise DomainError(f"{name}: {refused}") from None
    path = f"media/{name}"
    found = session.scalar(
        select(DraftFile).where(DraftFile.course_id == course.id, DraftFile.path == path)
    )
    if found is None:
        session.add(
            DraftFile(course_id=course.id, path=path, content="", data=data, updated_by_id=by.id)
        )
    else:
        found.data = data
        found.revision += 1
        found.updated_by_id = by.id
    audit.record(session, "draft.media_uploaded", actor=by, target=course, path=path)
    session.flush()
    return path


def import_gift(
    session: Session, course: Course, *, path: str, data: bytes, by: User
) -> GiftReport:
    """Append the questions of a GIFT bank to a quiz of the draft; report what was left out."""
    text, refusal = read_gift_bytes(data)
    if text is None:
        raise DomainError(refusal or "The file could not be read.")
    quiz = draft_file(session, course, path)
    if quiz.data is not None or "type: quiz" not in quiz.content:
        raise DomainError(f"{path} is not a quiz.")
    report = gift_to_markdown(text)
    if refusal:  # not a refusal here: a note, e.g. that the file was read as Windows-1252
        report.problems.insert(0, (1, refusal))
    if report.imported:
        separator = (
            "" if quiz.content.endswith("\n\n") else "\n" if quiz.content.endswith("\n") else "\n\n"
        )
        quiz.content = quiz.content + separator + report.markdown.strip("\n") + "\n"
        quiz.revision += 1
        quiz.updated_by_id = by.id
        quiz.updated_at = utcnow()
    audit.record(
        session, "draft.gift_imported", actor=by, target=course, path=path,
        questions=report.imported, problems=len(report.problems),
    )  # fmt: skip
    session.flush()
    return report


def discard(session: Session, course: Course, *, by: User) -> None:
    session.execute(delete(DraftFile).where(DraftFile.course_id == course.id))
    audit.record(session, "draft.discarded", actor=by, target=course)
    session.flush()


# --- before publishing --------------------------------------------------------------------


def diff_against_published(session: Session, course: Course) -> list[FileDiff]:
    """What the draft changes, file by file, as unified diffs."""
    published: dict[str, bytes] = {}
    if course.published_version_id is not None:
        published = {
            f.path: f.raw
            for f in session.scalars(
                select(SourceFile)
                .where(SourceFile.version_id == course.published_version_id)
                .options(undefer(SourceFile.data))
            )
        }
    draft = {f.path: f.raw for f in draft_files(session, course)}
    diffs = []
    for path in sorted(set(published) | set(draft)):
        before, after = published.get(path), draft.get(path)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        if path.startswith("media/"):
            lines = [f"image {status}"]
        else:
            lines = list(
                difflib.unified_diff(
                    (before or b"").decode("utf-8", "replace").splitlines(),
                    (after or b"").decode("utf-8", "replace").splitlines(),
                    fromfile=f"published/{path}",
                    tofile=f"draft/{path}",
                    lineterm="",
                )
            )
        diffs.append(FileDiff(path, status, lines))
    return diffs


def removed_items_with_progress(
    session: Session, course: Course, source: CourseSource | None
) -> list[RemovedItem]:
    """Items of the published version the draft no longer has, with how many learners have
    progress on them (completed lessons or attempted quizzes): what publishing would strand."""
    version = course.published_version
    if version is None:
        return []
    kept = set()
    if source is not None:
        kept = {f"{m.slug}/{i.slug}" for m in source.modules for i in m.items}
    gone = {
        item["key"]: item["title"]
        for module in version.outline
        for item in module["items"]
        if item["key"] not in kept
    }
    if not gone:
        return []
    learners: dict[str, set[int]] = {key: set() for key in gone}
    for key, user_id in session.execute(
        select(LessonProgress.item_key, LessonProgress.user_id).where(
            LessonProgress.course_id == course.id, LessonProgress.item_key.in_(gone)
        )
    ):
        learners[key].add(user_id)
    for key, user_id in session.execute(
        select(QuizAttempt.quiz_key, QuizAttempt.user_id).where(
            QuizAttempt.course_id == course.id, QuizAttempt.quiz_key.in_(gone)
        )
    ):
        learners[key].add(user_id)
    return [RemovedItem(key, gone[key], len(learners[key])) for key in sorted(gone)]


# --- publishing, rollback, archive ------------------------------------------------------------


def publish(session: Session, course: Course, *, by: User) -> ImportOutcome:
    """Check the draft and make it the next version; the draft is then closed."""
    source, problems = check_draft(session, course)
    if source is None:
        return ImportOutcome(course.slug, "rejected", problems=problems)
    outcome = import_course_source(session, source, by=by)
    session.execute(delete(DraftFile).where(DraftFile.course_id == course.id))
    audit.record(
        session,
        "course.published",
        actor=by,
        target=course,
        course=course.slug,
        version=outcome.version_number,
        status=outcome.status,
    )
    session.flush()
    return outcome


def republish(session: Session, course: Course, *, number: int, by: User) -> ImportOutcome:
    """Roll back: an earlier version's files become the next version."""
    old = session.scalar(
        select(CourseVersion).where(
            CourseVersion.course_id == course.id, CourseVersion.number == number
        )
    )
    if old is None:
        raise NotFound(f"no version {number}")
    files = session.scalars(
        select(SourceFile).where(SourceFile.version_id == old.id).options(undefer(SourceFile.data))
    )
    tree = CourseTree(files={f.path: f.raw for f in files})
    source, problems = read_course_tree(course.slug, tree, "")
    if source is None:
        return ImportOutcome(course.slug, "rejected", problems=problems)
    # Identical to the latest version: nothing to do (the import reports it unchanged).
    outcome = import_course_source(session, source, by=by)
    audit.record(
        session, "course.rolled_back", actor=by, target=course, to_version=number,
        new_version=outcome.version_number,
    )  # fmt: skip
    return outcome


def set_archived(session: Session, course: Course, archived: bool, *, by: User) -> None:
    """Archive hides a course from the catalogue; every learner record stays."""
    course.archived_at = utcnow() if archived else None
    audit.record(
        session, "course.archived" if archived else "course.unarchived", actor=by, target=course
    )
    session.flush()


def versions_of(session: Session, course: Course) -> list[tuple[CourseVersion, str | None]]:
    """Every version, newest first, with who published it."""
    rows = session.execute(
        select(CourseVersion, User.display_name)
        .outerjoin(User, User.id == CourseVersion.created_by_id)
        .where(CourseVersion.course_id == course.id)
        .order_by(CourseVersion.number.desc())
    )
    return [(version, name) for version, name in rows]


def course_rows(session: Session) -> list[dict]:
    """Every course for the authoring list: state, versions, draft and last change."""
    courses = session.scalars(select(Course).order_by(Course.slug)).all()
    drafts = dict(
        session.execute(
            select(DraftFile.course_id, func.max(DraftFile.updated_at)).group_by(
                DraftFile.course_id
            )
        ).all()
    )
    counts = dict(
        session.execute(
            select(CourseVersion.course_id, func.count()).group_by(CourseVersion.course_id)
        ).all()
    )
    rows = []
    for course in courses:
        version = course.published_version
        state = (
            "archived" if course.archived_at else "published" if version is not None else "draft"
        )
        rows.append(
            {
                "course": course,
                "title": version.title if version else course.slug,
                "state": state,
                "versions": counts.get(course.id, 0),
                "draft_updated": drafts.get(course.id),
                "published_at": version.created_at if version else None,
            }
        )
    return rows
