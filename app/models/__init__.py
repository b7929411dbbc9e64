"""Typed SQLAlchemy models, one module per aggregate. Importing this registers them all."""

from app.models.accounts import Country, Invitation, Role, User, UserSession
from app.models.audit import AuditEvent
from app.models.base import Base, utcnow
from app.models.catalog import (
    Course,
    CourseVersion,
    DraftFile,
    Lesson,
    MediaFile,
    Module,
    Question,
    QuestionKind,
    Quiz,
    SourceFile,
)
from app.models.certificates import REVOCATION_LABELS, Certificate, RevocationReason, SigningKey
from app.models.mail import OutgoingMail
from app.models.progress import (
    Enrollment,
    LessonProgress,
    MasteryTotal,
    QuestionResponse,
    QuizAttempt,
)

__all__ = [
    "AuditEvent",
    "Base",
    "Certificate",
    "REVOCATION_LABELS",
    "RevocationReason",
    "SigningKey",
    "Country",
    "Course",
    "CourseVersion",
    "DraftFile",
    "Enrollment",
    "Invitation",
    "Lesson",
    "LessonProgress",
    "MasteryTotal",
    "MediaFile",
    "Module",
    "OutgoingMail",
    "Question",
    "QuestionResponse",
    "QuestionKind",
    "Quiz",
    "QuizAttempt",
    "Role",
    "SourceFile",
    "User",
    "UserSession",
    "utcnow",
]
