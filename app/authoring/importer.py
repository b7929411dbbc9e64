"""Store a checked course folder as a new immutable CourseVersion, and write one back out.

Import is idempotent: the digest of the folder's files is compared with the latest version's,
and an unchanged folder writes nothing. Functions flush; the caller commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from app.authoring.media import publishable
from app.authoring.parse import items_with_keys, read_course, resolve_link
from app.authoring.render import LinkResolver, render_inline, render_markdown
from app.authoring.source import CourseSource, LessonSource, Problem, QuizSource
from app.models import (
    Course,
    CourseVersion,
    Lesson,
    MediaFile,
    Module,
    Question,
    Quiz,
    SourceFile,
    User,
)


@dataclass
class ImportOutcome:
    """What importing one course folder did: created, updated, unchanged or rejected."""

    slug: str
    status: str
    version_number: int | None = None
    problems: list[Problem] = field(default_factory=list)

    def describe(self) -> str:
        if self.status == "rejected":
            return f"{self.slug}: rejected, {len(self.problems)} problem(s); nothing changed"
        if self.status == "unchanged":
            return f"{self.slug}: unchanged (version {self.version_number})"
        return f"{self.slug}: {self.status}, now version {self.version_number}"


def source_digest(files: dict[str, str], media: dict[str, bytes] | None = None) -> str:
    """One hash of every file's path and bytes: equal digests, equal folders."""
    everything = {path: text.encode() for path, text in files.items()} | dict(media or {})
    digest = hashlib.sha256()
    for path in sorted(everything):
        digest.update(path.encode() + b"\0" + everything[path] + b"\0")
    return digest.hexdigest()


def store_media(session: Session, media: dict[str, bytes]) -> dict[str, str]:
    """Re-encode each image for learners and store it once; {source path: URL}."""
    urls = {}
    for path, original in media.items():
        image = publishable(original)
        sha = hashlib.sha256(image.data).hexdigest()
        if session.scalar(select(MediaFile.id).where(MediaFile.sha256 == sha)) is None:
            session.add(
                MediaFile(
                    sha256=sha,
                    content_type=image.content_type,
                    extension=image.extension,
                    width=image.width,
                    height=image.height,
                    data=image.data,
                )
            )
            session.flush()
        urls[path] = f"/media/{sha}.{image.extension}"
    return urls


def import_course_folder(
    session: Session, folder: Path, *, by: User | None = None
) -> ImportOutcome:
    """Check a course folder and store it as a new version if it changed. Flushes only."""
    source, problems = read_course(folder)
    if source is None:
        return ImportOutcome(folder.name, "rejected", problems=problems)
    return import_course_source(session, source, by=by)


def import_course_source(
    session: Session, source: CourseSource, *, by: User | None = None
) -> ImportOutcome:
    digest = source_digest(source.files, source.media)
    course = session.scalar(select(Course).where(Course.slug == source.slug))
    if course is not None:
        latest = session.scalar(
            select(CourseVersion)
            .where(CourseVersion.course_id == course.id)
            .order_by(CourseVersion.number.desc())
            .limit(1)
        )
        if latest is not None and latest.source_digest == digest:
            return ImportOutcome(source.slug, "unchanged", latest.number)
    with session.begin_nested():
        status = "updated"
        if course is None:
            course = Course(slug=source.slug)
            session.add(course)
            session.flush()
            status = "created"
        number = (
            session.scalar(
                select(func.max(CourseVersion.number)).where(CourseVersion.course_id == course.id)
            )
            or 0
        ) + 1
        if number == 1:
            status = "created"  # a course first made as a draft gets its first version
        version = build_version(
            source, digest=digest, number=number, media_urls=store_media(session, source.media)
        )
        version.course_id = course.id
        version.created_by_id = by.id if by is not None else None
        session.add(version)
        session.flush()
        course.published_version = version
        session.flush()
    return ImportOutcome(source.slug, status, number)


def _link_resolver(
    source: CourseSource, from_path: str, media_urls: dict[str, str] | None = None
) -> LinkResolver:
    keys = {item.path: key for _, item, key in items_with_keys(source)}
    media_urls = media_urls or {}

    def resolve(href: str) -> str | None:
        target = resolve_link(from_path, href)
        if target is not None and target in media_urls:
            return media_urls[target]
        if target is None or target not in keys:
            return None
        fragment = href.split("#", 1)[1] if "#" in href else ""
        url = f"/courses/{source.slug}/{keys[target]}"
        return f"{url}#{fragment}" if fragment else url

    return resolve


def _choice_id(digest: str, key: str, question: int, choice: int) -> str:
    # Opaque, so an id says nothing about where the author placed the correct choice.
    return hashlib.sha256(f"{digest}:{key}:{question}:{choice}".encode()).hexdigest()[:10]


def build_version(
    source: CourseSource, *, digest: str, number: int, media_urls: dict[str, str] | None = None
) -> CourseVersion:
    """The CourseVersion rows for a parsed course, with every Markdown text rendered once."""
    media_urls = media_urls or {}
    version = CourseVersion(
        number=number,
        title=source.title,
        summary=source.summary,
        language=source.language,
        level=source.level,
        minutes=source.minutes,
        tags=source.tags,
        certificate=source.certificate,
        is_open=source.is_open,
        validity_months=source.validity_months,
        overview_html=render_markdown(
            source.overview, _link_resolver(source, "course.md", media_urls)
        ).html,
        source_digest=digest,
        outline=[],
    )
    version.files = [SourceFile(path=path, content=text) for path, text in source.files.items()] + [
        SourceFile(path=path, content="", data=data) for path, data in source.media.items()
    ]
    outline = []
    for position, module_source in enumerate(source.modules, start=1):
        module = Module(
            position=position,
            slug=module_source.slug,
            title=module_source.title,
            intro_html=render_markdown(
                module_source.intro,
                _link_resolver(source, f"{module_source.path}/module.md", media_urls),
            ).html,
        )
        version.modules.append(module)
        items = []
        for item_position, item in enumerate(module_source.items, start=1):
            key = source.item_key(module_source, item)
            resolver = _link_resolver(source, item.path, media_urls)
            if isinstance(item, LessonSource):
                rendered = render_markdown(item.body, resolver)
                lesson = Lesson(
                    position=item_position,
                    slug=item.slug,
                    key=key,
                    title=item.title,
                    minutes=item.minutes,
                    sources=item.sources,
                    body_html=rendered.html,
                    toc=rendered.toc,
                )
                lesson.version = version
                module.lessons.append(lesson)
                minutes = item.minutes
            else:
                quiz = _build_quiz(item, key, digest, resolver, position=item_position)
                quiz.version = version
                module.quizzes.append(quiz)
                minutes = item.minutes or len(item.questions)
            items.append(
                {
                    "slug": item.slug,
                    "key": key,
                    "title": item.title,
                    "kind": item.kind,
                    "minutes": minutes,
                }
            )
        outline.append({"slug": module.slug, "title": module.title, "items": items})
    version.outline = outline
    return version


def _build_quiz(
    item: QuizSource, key: str, digest: str, resolver: LinkResolver, *, position: int
) -> Quiz:
    quiz = Quiz(
        position=position,
        slug=item.slug,
        key=key,
        title=item.title,
        intro_html=render_markdown(item.intro, resolver).html,
        pass_mark=item.pass_mark,
        attempts=item.attempts,
        shuffle=item.shuffle,
        time_limit_minutes=item.time_limit,
        draw=item.draw,
        partial_credit=item.partial_credit,
        minutes=item.minutes,
    )
    for number, question in enumerate(item.questions, start=1):
        quiz.questions.append(
            Question(
                position=number,
                kind=question.kind,
                stem_html=render_inline(question.stem),
                details_html=render_markdown(question.details, resolver).html,
                choices=[
                    {
                        "id": _choice_id(digest, key, number, index),
                        "html": render_inline(choice.text),
                        "correct": choice.correct,
                    }
                    for index, choice in enumerate(question.choices)
                ],
                accepted_answers=question.answers,
                explanation_html=render_markdown(question.explanation, resolver).html,
                provisions=question.provisions,
            )
        )
    return quiz


def export_course(
    session: Session, slug: str, destination: Path, *, overwrite: bool = False
) -> Path:
    """Write the published version's files to destination/slug, byte for byte as imported."""
    course = session.scalar(select(Course).where(Course.slug == slug))
    if course is None or course.published_version_id is None:
        raise LookupError(f"no published course {slug!r}")
    target = destination / slug
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise FileExistsError(f"{target} exists and is not empty")
    files = session.scalars(
        select(SourceFile)
        .where(SourceFile.version_id == course.published_version_id)
        .options(undefer(SourceFile.data))
    ).all()
    if target.exists() and overwrite:
        _empty_folder(target)
    for source_file in files:
        path = target / source_file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source_file.raw)
    return target


def _empty_folder(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
