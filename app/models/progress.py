"""Learner progress, keyed by course and stable item key so it survives republishing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow


class Enrollment(Base):
    """One learner in one course. Unenrolling sets `unenrolled_at` and keeps the progress."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date | None]
    unenrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_version_id: Mapped[int | None] = mapped_column(ForeignKey("course_versions.id"))
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    course = relationship("Course", lazy="joined")


class LessonProgress(Base):
    """A lesson a learner marked as complete. One row per learner, course and lesson key."""

    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("user_id", "course_id", "item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    item_key: Mapped[str] = mapped_column(String(201))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class QuizAttempt(Base):
    """One attempt at a quiz. `layout` fixes the questions and choice order for the attempt."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "quiz_key", "number"),
        Index("ix_quiz_attempts_passed", "course_id", "user_id", "quiz_key", "passed"),
        # At most one open attempt per learner and quiz, whatever races between two tabs.
        Index(
            "uq_quiz_attempts_one_open",
            "user_id",
            "course_id",
            "quiz_key",
            unique=True,
            postgresql_where=text("submitted_at IS NULL"),
            sqlite_where=text("submitted_at IS NULL"),
        ),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("score IS NULL OR score BETWEEN 0 AND 100", name="score_percentage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    quiz_key: Mapped[str] = mapped_column(String(201))
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"))
    number: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[float | None]
    passed: Mapped[bool | None]
    layout: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Answers saved so far (before submission) or submitted: {question id: [choice ids] | text}.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answers_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Submitted after the time limit: graded on the answers saved before the deadline.
    submitted_late: Mapped[bool] = mapped_column(default=False)


class QuestionResponse(Base):
    """One graded answer: how each question of a submitted attempt was marked.

    Kept as rows (not inside the attempt's JSON) so that question statistics and mastery per
    provision are a GROUP BY, whatever the number of attempts.
    """

    __tablename__ = "question_responses"
    __table_args__ = (
        UniqueConstraint("attempt_id", "question_id"),
        # Covers a learner's answers (of one course) with their questions and marks, read from
        # the index without the table: what moving them between countries' mastery totals
        # reads. It leads with user_id, so it also serves what an index on user_id alone would.
        Index("ix_question_responses_mastery", "user_id", "course_id", "question_id", "mark"),
        CheckConstraint("mark BETWEEN 0 AND 1", name="mark_fraction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    mark: Mapped[float]
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MasteryTotal(Base):
    """The graded answers of one country's learners to one question of a course, summed.

    What the focal point's report shows as mastery per provision, kept up to date by
    `services.mastery` whenever a quiz is graded or a person's country or role changes, so
    that the report reads a few rows instead of summing every answer of the country. Only
    learners with a country count, as in the report.
    """

    __tablename__ = "mastery_totals"

    country_id: Mapped[int] = mapped_column(ForeignKey("countries.id"), primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    answers: Mapped[int]
    earned: Mapped[float]  # the sum of the answers' marks, each 0 to 1
