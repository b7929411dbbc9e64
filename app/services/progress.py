"""Progress through a course: lessons completed, quizzes passed, completion recorded once.

Everything is keyed by the course and the stable item key (`module-slug/item-slug`), so a
republished course keeps everyone's progress on every item that still exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, select, union, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import Update

from app.direct_reads import DirectRead, column_keys, loaded
from app.models import Course, CourseVersion, Enrollment, LessonProgress, QuizAttempt, User, utcnow
from app.services import accounts, audit, catalog, certification
from app.services.errors import DomainError, NotFound


class NotEnrolled(DomainError):
    """Progress is kept for enrolled learners only."""

    def __init__(self, message: str = "Join or be enrolled in this course to keep your progress."):
        super().__init__(message)


@dataclass
class CourseProgress:
    """Where a learner stands in the published version of a course."""

    version: CourseVersion
    completed_lessons: set[str] = field(default_factory=set)
    passed_quizzes: set[str] = field(default_factory=set)
    best_scores: dict[str, float] = field(default_factory=dict)

    @property
    def done(self) -> set[str]:
        return (self.completed_lessons | self.passed_quizzes) & set(self.version.item_keys)

    @property
    def total(self) -> int:
        return len(self.version.item_keys)

    @property
    def percent(self) -> int:
        return round(100 * len(self.done) / self.total) if self.total else 0

    @property
    def is_complete(self) -> bool:
        return self.total > 0 and len(self.done) == self.total

    def next_item(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(module, item) of the first item not done yet: where to continue."""
        for module in self.version.outline:
            for item in module["items"]:
                if item["key"] not in self.done:
                    return module, item
        return None


def active_enrolment(session: Session, learner: User, course: Course) -> Enrollment | None:
    return session.scalar(
        select(Enrollment).where(
            Enrollment.user_id == learner.id,
            Enrollment.course_id == course.id,
            Enrollment.unenrolled_at.is_(None),
        )
    )


# A lesson page asks this on every view of a signed-in learner: outside the ORM
# (app.direct_reads), as the sign-in lookup before it, and where it can, in the same statement.
def _lesson_completed(enrollment: type[Enrollment] | Any) -> Any:
    return (
        select(LessonProgress.id)
        .where(
            LessonProgress.user_id == enrollment.user_id,
            LessonProgress.course_id == enrollment.course_id,
            LessonProgress.item_key == bindparam("key"),
        )
        .exists()
    )


_LESSON_STATE = DirectRead(
    select(Enrollment.id, _lesson_completed(Enrollment)).where(
        Enrollment.user_id == bindparam("user_id"),
        Enrollment.course_id == bindparam("course_id"),
        Enrollment.unenrolled_at.is_(None),
    )
)
# The same two columns after the sign-in lookup's (app.auth.session.read_along_with_sign_in):
# values course_id and key.
LESSON_STATE_WITH_SIGN_IN = accounts.session_read_along(
    lambda signed_in: signed_in.add_columns(Enrollment.id, _lesson_completed(Enrollment)).outerjoin(
        Enrollment,
        and_(
            Enrollment.user_id == User.id,
            Enrollment.course_id == bindparam("course_id"),
            Enrollment.unenrolled_at.is_(None),
        ),
    )
)


def lesson_state(
    session: Session, learner: User, course: Course, key: str, *, read: tuple | None = None
) -> tuple[bool, bool]:
    """(enrolled, lesson completed) for a lesson page: one query, or none when `read` is what
    LESSON_STATE_WITH_SIGN_IN read for this course and key."""
    row = (
        read
        if read is not None
        else _LESSON_STATE.first(session, user_id=learner.id, course_id=course.id, key=key)
    )
    return (True, bool(row[1])) if row is not None and row[0] is not None else (False, False)


def require_enrolment(session: Session, learner: User, course: Course) -> Enrollment:
    enrollment = active_enrolment(session, learner, course)
    if enrollment is None:
        raise NotEnrolled()
    return enrollment


_ENROLMENTS = Enrollment.__table__
_ENROLMENT_FIELDS = column_keys(Enrollment)


def touching_enrolment(learner_id: Any, course_id: Any, now: Any) -> Update:
    """UPDATE of the learner's active enrolment in the course, its last activity set to `now`
    (values or bound parameters), RETURNING the enrolment's columns for `enrolment_of_row`.

    On the table, not the mapped class: the ORM's bulk UPDATE populating the object cost
    40-90 microseconds more per quiz submission; the row is put in the session as a direct
    read is."""
    return (
        update(_ENROLMENTS)
        .where(
            _ENROLMENTS.c.user_id == learner_id,
            _ENROLMENTS.c.course_id == course_id,
            _ENROLMENTS.c.unenrolled_at.is_(None),
        )
        .values(last_activity_at=now)
        .returning(*(attribute.columns[0] for attribute in sa_inspect(Enrollment).column_attrs))
    )


def enrolment_of_row(session: Session, row: Sequence[Any]) -> Enrollment:
    """The enrolment a `touching_enrolment` statement returned, in the session (the object
    already there, if any, given the row's values)."""
    return loaded(session, Enrollment, dict(zip(_ENROLMENT_FIELDS, row, strict=True)), refresh=True)


_TOUCH_ENROLMENT = touching_enrolment(
    bindparam("learner_id"), bindparam("enrolled_in"), bindparam("now")
)


def touch_enrolment(
    session: Session, learner: User, course: Course, *, now: datetime
) -> Enrollment:
    """The active enrolment, its last activity set to `now`: one UPDATE ... RETURNING."""
    row = session.execute(
        _TOUCH_ENROLMENT, {"learner_id": learner.id, "enrolled_in": course.id, "now": now}
    ).first()
    if row is None:
        raise NotEnrolled()
    return enrolment_of_row(session, row)


def course_progress(session: Session, learner: User, course: Course) -> CourseProgress:
    """The learner's progress in the published version: two queries."""
    version = course.published_version
    if version is None:
        raise NotFound(f"no published version of {course.slug!r}")
    lessons = set(
        session.scalars(
            select(LessonProgress.item_key).where(
                LessonProgress.user_id == learner.id, LessonProgress.course_id == course.id
            )
        )
    )
    best: dict[str, float] = {}
    passed: set[str] = set()
    for key, score, was_passed in session.execute(
        select(QuizAttempt.quiz_key, QuizAttempt.score, QuizAttempt.passed).where(
            QuizAttempt.user_id == learner.id,
            QuizAttempt.course_id == course.id,
            QuizAttempt.submitted_at.is_not(None),
        )
    ):
        best[key] = max(best.get(key, 0.0), score or 0.0)
        if was_passed:
            passed.add(key)
    return CourseProgress(
        version=version, completed_lessons=lessons, passed_quizzes=passed, best_scores=best
    )


def _published_item_keys(session: Session, course: Course) -> list[str]:
    """The item keys of the course's published version: from the catalogue in memory when it
    holds that very version (a version never changes), else from the version's row."""
    if course.published_version_id is None:
        return []
    try:
        cached = catalog.cached_published_course(session, course.slug).published_version
    except NotFound:
        cached = None
    if cached is not None and cached.id == course.published_version_id:
        return cached.item_keys
    return course.published_version.item_keys


_DONE_ITEMS = union(
    select(LessonProgress.item_key).where(
        LessonProgress.user_id == bindparam("learner_id"),
        LessonProgress.course_id == bindparam("course_id"),
    ),
    select(QuizAttempt.quiz_key).where(
        QuizAttempt.user_id == bindparam("learner_id"),
        QuizAttempt.course_id == bindparam("course_id"),
        QuizAttempt.submitted_at.is_not(None),
        QuizAttempt.passed.is_(True),
    ),
)


def done_items(session: Session, learner: User, course: Course) -> set[str]:
    """Keys of the lessons completed and the quizzes passed in the course: one query."""
    return set(session.scalars(_DONE_ITEMS, {"learner_id": learner.id, "course_id": course.id}))


def progress_in_courses(
    session: Session, learner: User, courses: list[Course]
) -> dict[int, CourseProgress]:
    """The learner's progress in several courses at once: two queries, whatever the number."""
    ids = [course.id for course in courses if course.published_version is not None]
    result = {
        course.id: CourseProgress(version=course.published_version)
        for course in courses
        if course.published_version is not None
    }
    if not ids:
        return result
    for course_id, key in session.execute(
        select(LessonProgress.course_id, LessonProgress.item_key).where(
            LessonProgress.user_id == learner.id, LessonProgress.course_id.in_(ids)
        )
    ):
        result[course_id].completed_lessons.add(key)
    for course_id, key, score, was_passed in session.execute(
        select(
            QuizAttempt.course_id, QuizAttempt.quiz_key, QuizAttempt.score, QuizAttempt.passed
        ).where(
            QuizAttempt.user_id == learner.id,
            QuizAttempt.course_id.in_(ids),
            QuizAttempt.submitted_at.is_not(None),
        )
    ):
        entry = result[course_id]
        entry.best_scores[key] = max(entry.best_scores.get(key, 0.0), score or 0.0)
        if was_passed:
            entry.passed_quizzes.add(key)
    return result


def _insert_ignoring_duplicates(session: Session, values: dict[str, Any]) -> bool:
    """Insert a LessonProgress row unless it exists; True when this call inserted it.

    Two tabs marking the same lesson at once both succeed, and only one row is written: the
    database's unique constraint decides, with no error and no race.
    """
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    statement = (
        insert(LessonProgress)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["user_id", "course_id", "item_key"])
        .returning(LessonProgress.id)
    )
    # RETURNING gives a row only when this statement inserted one (rowcount is not reliable
    # for INSERT ... ON CONFLICT on every driver).
    return session.execute(statement).scalar() is not None


class LessonDone(NamedTuple):
    """What marking a lesson complete did."""

    first_time: bool  # False when the lesson was done already
    enrollment: Enrollment  # its activity touched, its completion recorded when due


def complete_lesson(
    session: Session, learner: User, course: Course, key: str, *, now: datetime | None = None
) -> LessonDone:
    """Mark a lesson of the published version as completed; the caller commits.

    `course` may be the catalogue's snapshot (`catalog.cached_published_course`). Two
    statements when the lesson was done before: the enrolment touched (which finds it, one
    UPDATE ... RETURNING), and the lesson's row inserted unless it is there; the first time,
    the completion check follows.
    """
    now = now or utcnow()
    lesson_keys = {
        item["key"]
        for module in course.published_version.outline
        for item in module["items"]
        if item["kind"] == "lesson"
    }
    if key not in lesson_keys:  # before any write: a wrong address changes nothing
        raise NotFound(f"no lesson {key!r} in this course")
    enrollment = touch_enrolment(session, learner, course, now=now)
    inserted = _insert_ignoring_duplicates(
        session,
        {"user_id": learner.id, "course_id": course.id, "item_key": key, "completed_at": now},
    )
    if inserted:
        record_completion_if_done(session, learner, course, enrollment, now=now)
    return LessonDone(inserted, enrollment)


def record_completion_if_done(
    session: Session, learner: User, course: Course, enrollment: Enrollment, *, now: datetime
) -> bool:
    """Record the course as completed, once per version, and call certification.

    A learner who completed an earlier version and then completes every item of a newer one
    (a republished course, or a renewal after a certificate expired) completes that version
    too, and gets its certificate.
    """
    if (
        enrollment.completed_at is not None
        and enrollment.completed_version_id == course.published_version_id
    ):
        return False
    item_keys = _published_item_keys(session, course)
    if not item_keys or not done_items(session, learner, course).issuperset(item_keys):
        return False
    # Completed: certification reads the version itself (a snapshot of the course has none).
    version = session.get(CourseVersion, course.published_version_id)
    # Conditional update: of two requests finishing the course at once, exactly one records it.
    claimed = session.execute(
        update(Enrollment)
        .where(
            Enrollment.id == enrollment.id,
            (Enrollment.completed_at.is_(None)) | (Enrollment.completed_version_id != version.id),
        )
        .values(completed_at=now, completed_version_id=version.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.refresh(enrollment)
        return False
    set_committed_value(enrollment, "completed_at", now)
    set_committed_value(enrollment, "completed_version_id", version.id)
    audit.record(
        session,
        "course.completed",
        actor=learner,
        target=enrollment,
        country_id=learner.country_id,
        course=course.slug,
        version=version.number,
    )
    certification.on_course_completed(session, enrollment, version)
    session.flush()
    return True
