"""Reading the published catalogue: what the course pages show."""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from itertools import chain
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, contains_eager, selectinload

from app.models import Course, CourseVersion, Lesson, Module, Question, Quiz
from app.services.errors import NotFound

# How long another process may go on showing a course as it was before a publish or an
# archive; a change committed in this process is seen by its next request.
CACHE_SECONDS = 5.0
# Lessons and quizzes of published versions kept in memory per process (a version never changes).
CACHED_ITEMS = 512


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


# --- the published catalogue in memory ------------------------------------------------------
#
# Every page shows the published courses, and a lesson page its lesson: rows that change only
# when an author publishes. Pages that only read (GET) take them from a per-process cache of
# read-only snapshots instead of querying and decoding them again for every request; anything
# that writes (completing, attempts, enrolment) keeps reading the database, except where it
# reads a version by its id, which never changes: grading reads the quiz of the version the
# attempt began on, and the completion check the item keys of the published version.


class PublishedVersion(SimpleNamespace):
    """A read-only copy of a CourseVersion's columns, safe to share between requests."""

    @property
    def item_keys(self) -> list[str]:
        return [item["key"] for module in self.outline for item in module["items"]]


@dataclass(frozen=True)
class QuizPage:
    """A quiz as its page shows it before an attempt: never the answers."""

    quiz: SimpleNamespace
    questions: tuple[PublicQuestion, ...]


def _columns(instance: Any, kind: type = SimpleNamespace) -> Any:
    return kind(**{a.key: getattr(instance, a.key) for a in inspect(instance).mapper.column_attrs})


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.courses: tuple[SimpleNamespace, ...] | None = None
        self.by_slug: dict[str, SimpleNamespace] = {}
        self.loaded_at = 0.0
        self.generation = -1
        self.items: OrderedDict[tuple, Any] = OrderedDict()


_caches: weakref.WeakKeyDictionary[Engine, _Cache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()
# Bumped when this process commits a change to a course, version, lesson or quiz.
_generation = 0
_WATCHED = (Course, CourseVersion, Module, Lesson, Quiz, Question)


@event.listens_for(Session, "after_flush")
def _note_catalogue_change(session: Session, _context: object) -> None:
    if any(isinstance(o, _WATCHED) for o in chain(session.new, session.dirty, session.deleted)):
        session.info["catalogue_changed"] = True


@event.listens_for(Session, "after_commit")
def _forget_changed_catalogue(session: Session) -> None:
    global _generation
    if session.info.pop("catalogue_changed", False):
        _generation += 1


def _fresh_cache(session: Session) -> _Cache:
    """This database's cache, reloaded when too old or changed here."""
    engine = session.get_bind()
    cache = _caches.get(engine)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(engine, _Cache())
    generation = _generation
    if (
        cache.courses is not None
        and cache.generation == generation
        and time.monotonic() - cache.loaded_at < CACHE_SECONDS
    ):
        return cache
    with cache.lock:
        if cache.generation != generation:
            cache.items.clear()
        courses = []
        for course in published_courses(session):
            snapshot = _columns(course)
            snapshot.published_version = _columns(course.published_version, PublishedVersion)
            courses.append(snapshot)
        cache.courses = tuple(courses)
        cache.by_slug = {course.slug: course for course in courses}
        cache.loaded_at = time.monotonic()
        cache.generation = generation
    return cache


def cached_published_courses(session: Session) -> tuple[SimpleNamespace, ...]:
    """`published_courses` as read-only snapshots from memory (no query when fresh). The same
    tuple is returned until the catalogue is reloaded, so a caller may key on its identity."""
    return _fresh_cache(session).courses or ()


def cached_published_course(session: Session, slug: str) -> SimpleNamespace:
    """`get_published_course` as a read-only snapshot from memory."""
    found = _fresh_cache(session).by_slug.get(slug)
    if found is None:
        raise NotFound(f"no course {slug!r}")
    return found


def _cached_item(session: Session, key: tuple, load: Any) -> Any:
    cache = _fresh_cache(session)
    found = cache.items.get(key)
    if found is not None:
        return found
    found = load()
    with cache.lock:
        cache.items[key] = found
        while len(cache.items) > CACHED_ITEMS:
            cache.items.popitem(last=False)
    return found


def cached_lesson(session: Session, version: Any, key: str) -> SimpleNamespace:
    """A lesson of a published version, as a read-only snapshot from memory."""
    return _cached_item(
        session, ("lesson", version.id, key), lambda: _columns(get_lesson(session, version, key))
    )


def cached_quiz_to_grade(session: Session, version_id: int, key: str) -> SimpleNamespace:
    """A quiz of a version with all its questions, answers included, as read-only snapshots
    from memory: what grading reads (`Quiz` and `Question` columns, `questions` in order)."""

    def load() -> SimpleNamespace:
        quiz = session.scalar(
            select(Quiz)
            .where(Quiz.version_id == version_id, Quiz.key == key)
            .options(selectinload(Quiz.questions))
        )
        if quiz is None:
            raise NotFound(f"no quiz {key!r} in version {version_id}")
        snapshot = _columns(quiz)
        snapshot.questions = tuple(_columns(question) for question in quiz.questions)
        return snapshot

    return _cached_item(session, ("grading", version_id, key), load)


def cached_quiz_page(session: Session, version: Any, key: str) -> QuizPage:
    """A quiz and its public questions, as a read-only snapshot from memory."""

    def load() -> QuizPage:
        quiz = get_quiz(session, version, key)
        return QuizPage(_columns(quiz), tuple(public_questions(quiz)))

    return _cached_item(session, ("quiz", version.id, key), load)
