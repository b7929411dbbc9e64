"""Enrolment: who takes which course, by when. Unenrolling keeps every record of progress."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Course, Enrollment, User, utcnow
from app.services import audit
from app.services.errors import DomainError, NotFound


class NotOpenForSelfEnrolment(DomainError):
    """Learners may enrol themselves only in courses marked open."""


def published_course(session: Session, slug: str) -> Course:
    course = session.scalar(
        select(Course).where(
            Course.slug == slug,
            Course.published_version_id.is_not(None),
            Course.archived_at.is_(None),
        )
    )
    if course is None:
        raise NotFound(f"no published course {slug!r}")
    return course


def enrol(
    session: Session,
    learner: User,
    course: Course,
    *,
    by: User | None,
    due_on: date | None = None,
    now: datetime | None = None,
) -> Enrollment:
    """Enrol the learner (again, if they had left), or update the due date. Flushes only."""
    now = now or utcnow()
    enrollment = session.scalar(
        select(Enrollment).where(
            Enrollment.user_id == learner.id, Enrollment.course_id == course.id
        )
    )
    if enrollment is None:
        enrollment = Enrollment(
            user_id=learner.id,
            course_id=course.id,
            enrolled_at=now,
            enrolled_by_id=by.id if by is not None else None,
            due_on=due_on,
        )
        try:
            with session.begin_nested():
                session.add(enrollment)
                session.flush()
        except IntegrityError:
            # Two requests enrolled the same person at once: the other one won; use it.
            enrollment = session.scalars(
                select(Enrollment).where(
                    Enrollment.user_id == learner.id, Enrollment.course_id == course.id
                )
            ).one()
        action = "enrolment.created"
    elif enrollment.unenrolled_at is not None:
        enrollment.unenrolled_at = None
        enrollment.due_on = due_on
        action = "enrolment.resumed"
    else:
        if due_on is not None and enrollment.due_on != due_on:
            enrollment.due_on = due_on
            action = "enrolment.due_date_changed"
        else:
            return enrollment
    audit.record(
        session,
        action,
        actor=by or learner,
        target=enrollment,
        country_id=learner.country_id,
        learner_id=learner.id,
        course=course.slug,
        due_on=due_on.isoformat() if due_on else None,
    )
    session.flush()
    return enrollment


def self_enrol(session: Session, learner: User, course: Course) -> Enrollment:
    version = course.published_version
    if version is None or not version.is_open:
        raise NotOpenForSelfEnrolment("This course is assigned by your focal point.")
    return enrol(session, learner, course, by=learner)


def unenrol(
    session: Session, enrollment: Enrollment, *, by: User, now: datetime | None = None
) -> None:
    if enrollment.unenrolled_at is None:
        enrollment.unenrolled_at = now or utcnow()
        audit.record(
            session,
            "enrolment.removed",
            actor=by,
            target=enrollment,
            learner_id=enrollment.user_id,
        )
        session.flush()


def active_enrolments(session: Session, learner: User) -> list[Enrollment]:
    return list(
        session.scalars(
            select(Enrollment)
            .where(Enrollment.user_id == learner.id, Enrollment.unenrolled_at.is_(None))
            .order_by(Enrollment.enrolled_at)
        )
    )
