"""The catalogue: courses and their immutable published versions.

A CourseVersion and everything under it is written once, at import or publish, and never
changed. Learner records point at stable item keys (`module-slug/item-slug`), not at these rows.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow


class QuestionKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUE_FALSE = "true_false"
    SHORT = "short"


class Course(Base):
    """A course's identity: its slug, and which version learners get."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    published_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_versions.id", use_alter=True, name="fk_courses_published_version")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    published_version: Mapped[CourseVersion | None] = relationship(
        foreign_keys=[published_version_id], post_update=True
    )
    # A course may have many versions; nobody should load them all by accident.
    versions: Mapped[list[CourseVersion]] = relationship(
        back_populates="course", foreign_keys="CourseVersion.course_id", lazy="raise"
    )

    def __repr__(self) -> str:
        return f"<Course {self.slug}>"


class CourseVersion(Base):
    """One immutable published state of a course, with its sources for export."""

    __tablename__ = "course_versions"
    __table_args__ = (
        UniqueConstraint("course_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("minutes >= 0", name="minutes_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[int]
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    certificate: Mapped[bool] = mapped_column(default=True)
    is_open: Mapped[bool] = mapped_column(default=False)
    validity_months: Mapped[int | None]
    overview_html: Mapped[str] = mapped_column(Text)
    # The course's modules and items with titles, kinds and minutes, stored at import so that
    # navigation (outline, previous/next) costs no query on a page view.
    outline: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    source_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    course: Mapped[Course] = relationship(back_populates="versions", foreign_keys=[course_id])
    modules: Mapped[list[Module]] = relationship(
        back_populates="version", order_by="Module.position", cascade="all, delete-orphan"
    )
    files: Mapped[list[SourceFile]] = relationship(
        order_by="SourceFile.path", cascade="all, delete-orphan", lazy="raise"
    )

    @property
    def item_keys(self) -> list[str]:
        return [item["key"] for module in self.outline for item in module["items"]]


class SourceFile(Base):
    """A file of the course folder exactly as imported, so export gives back the same bytes.

    Text files keep `content`; images (media/) keep their bytes in `data`.
    """

    __tablename__ = "source_files"
    __table_args__ = (UniqueConstraint("version_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    @property
    def raw(self) -> bytes:
        return self.data if self.data is not None else self.content.encode()


class MediaFile(Base):
    """An image as learners get it (re-encoded, no metadata), addressed by its own hash."""

    __tablename__ = "media_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    extension: Mapped[str] = mapped_column(String(8))
    width: Mapped[int]
    height: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DraftFile(Base):
    """A file of a course's working draft, which learners never see until it is published.

    `revision` grows with every save: a save that names an older revision is a conflict
    (optimistic locking), so two authors never overwrite each other unknowingly.
    """

    __tablename__ = "draft_files"
    __table_args__ = (
        UniqueConstraint("course_id", "path"),
        CheckConstraint("revision >= 1", name="revision_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    revision: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def raw(self) -> bytes:
        return self.data if self.data is not None else self.content.encode()


class Module(Base):
    __tablename__ = "modules"
    __table_args__ = (
        UniqueConstraint("version_id", "slug"),
        UniqueConstraint("version_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="CASCADE"))
    position: Mapped[int]
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    intro_html: Mapped[str] = mapped_column(Text)

    version: Mapped[CourseVersion] = relationship(back_populates="modules")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="module", order_by="Lesson.position", cascade="all, delete-orphan"
    )
    quizzes: Mapped[list[Quiz]] = relationship(
        back_populates="module", order_by="Quiz.position", cascade="all, delete-orphan"
    )


class Lesson(Base):
    __tablename__ = "lessons"
    __table_args__ = (
        UniqueConstraint("version_id", "key"),
        CheckConstraint("minutes >= 0", name="minutes_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="CASCADE"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    slug: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(201))
    title: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int]
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    body_html: Mapped[str] = mapped_column(Text)
    toc: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    module: Mapped[Module] = relationship(back_populates="lessons")
    version: Mapped[CourseVersion] = relationship()


class Quiz(Base):
    __tablename__ = "quizzes"
    __table_args__ = (
        UniqueConstraint("version_id", "key"),
        CheckConstraint("pass_mark BETWEEN 0 AND 100", name="pass_mark_percentage"),
        CheckConstraint("attempts IS NULL OR attempts >= 1", name="attempts_positive"),
        CheckConstraint("draw IS NULL OR draw >= 1", name="draw_positive"),
        CheckConstraint(
            "time_limit_minutes IS NULL OR time_limit_minutes >= 1", name="time_limit_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="CASCADE"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    slug: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(201))
    title: Mapped[str] = mapped_column(String(200))
    intro_html: Mapped[str] = mapped_column(Text)
    pass_mark: Mapped[int]
    attempts: Mapped[int | None]
    shuffle: Mapped[bool] = mapped_column(default=False)
    time_limit_minutes: Mapped[int | None]
    draw: Mapped[int | None]
    partial_credit: Mapped[bool] = mapped_column(default=False)
    minutes: Mapped[int | None]

    module: Mapped[Module] = relationship(back_populates="quizzes")
    version: Mapped[CourseVersion] = relationship()
    questions: Mapped[list[Question]] = relationship(
        back_populates="quiz", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(Base):
    """A quiz question. `choices` holds [{"id", "html", "correct"}]; never send it whole."""

    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("quiz_id", "position"),
        CheckConstraint("kind IN ('single', 'multiple', 'true_false', 'short')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    stem_html: Mapped[str] = mapped_column(Text)
    # Paragraphs that belong to the stem (a scenario, a quotation), shown under it.
    details_html: Mapped[str] = mapped_column(Text, default="")
    choices: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    accepted_answers: Mapped[list[str]] = mapped_column(JSON, default=list)
    explanation_html: Mapped[str] = mapped_column(Text)
    provisions: Mapped[list[str]] = mapped_column(JSON, default=list)

    quiz: Mapped[Quiz] = relationship(back_populates="questions")
