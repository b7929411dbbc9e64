"""Reading the published catalogue: what the course pages show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, selectinload

from app.models import Course, CourseVersion, Lesson, Question, Quiz
from app.services.errors import NotFound


@dataclass(frozen=True)
class PublicQuestion:
    """A question as a learner may see it before submitting: no correct choice, no explanation."""

    id: int
    position: int
    kind: str
    stem_html: str
    details_html: str
    choices: list[dict[str, str]]


@dataclass(frozen=True)
class ItemPlace:
    """Where an item sits in its course: module, neighbours, position."""

    module: dict[str, Any]
    item: dict[str, Any]
    previous: dict[str, Any] | None
    next: dict[str, Any] | None
    number: int
    total: int


def published_courses(session: Session) -> list[Course]:
    """Every published, unarchived course with its published version, in one query."""
    return list(
        session.scalars(
            select(Course)
            .join(Course.published_version)
            .options(contains_eager(Course.published_version))
            .where(Course.archived_at.is_(None))
            .order_by(CourseVersion.title)
        )
    )


def get_published_course(session: Session, slug: str) -> Course:
    course = session.scalar(
        select(Course)
        .join(Course.published_version)
        .options(contains_eager(Course.published_version))
        .where(Course.slug == slug, Course.archived_at.is_(None))
    )
    if course is None:
        raise NotFound(f"no course {slug!r}")
    return course


def locate_item(version: CourseVersion, key: str) -> ItemPlace:
    """The item's place in the stored outline; no query."""
    flat = [(module, item) for module in version.outline for item in module["items"]]
    for index, (module, item) in enumerate(flat):
        if item["key"] == key:
            return ItemPlace(
                module=module,
                item=item,
                previous=flat[index - 1][1] if index > 0 else None,
                next=flat[index + 1][1] if index + 1 < len(flat) else None,
                number=index + 1,
                total=len(flat),
            )
    raise NotFound(f"no item {key!r}")


def get_lesson(session: Session, version: CourseVersion, key: str) -> Lesson:
    lesson = session.scalar(
        select(Lesson).where(Lesson.version_id == version.id, Lesson.key == key)
    )
    if lesson is None:
        raise NotFound(f"no lesson {key!r}")
    return lesson


def get_quiz(session: Session, version: CourseVersion, key: str) -> Quiz:
    quiz = session.scalar(
        select(Quiz)
        .where(Quiz.version_id == version.id, Quiz.key == key)
        .options(selectinload(Quiz.questions))
    )
    if quiz is None:
        raise NotFound(f"no quiz {key!r}")
    return quiz


def get_quiz_of_version(session: Session, version_id: int, key: str) -> Quiz:
    """The quiz as it was in a given version (an attempt keeps the version it started on)."""
    quiz = session.scalar(select(Quiz).where(Quiz.version_id == version_id, Quiz.key == key))
    if quiz is None:
        raise NotFound(f"no quiz {key!r}")
    return quiz


def public_questions(quiz: Quiz) -> list[PublicQuestion]:
    """The quiz's questions with only what may reach the browser before submission."""
    return [_public(question) for question in quiz.questions]


def _public(question: Question) -> PublicQuestion:
    return PublicQuestion(
        id=question.id,
        position=question.position,
        kind=question.kind,
        stem_html=question.stem_html,
        details_html=question.details_html,
        choices=[{"id": choice["id"], "html": choice["html"]} for choice in question.choices],
    )
