"""Completion certificates and the keys that sign them. Nothing here is ever deleted."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow


class RevocationReason(StrEnum):
    ISSUED_IN_ERROR = "issued_in_error"
    SUPERSEDED = "superseded"
    IDENTITY = "identity"
    MISCONDUCT = "misconduct"
    OTHER = "other"


REVOCATION_LABELS = {
    RevocationReason.ISSUED_IN_ERROR.value: "Issued in error",
    RevocationReason.SUPERSEDED.value: "Replaced by a reissued certificate",
    RevocationReason.IDENTITY.value: "Identity could not be confirmed",
    RevocationReason.MISCONDUCT.value: "Assessment misconduct",
    RevocationReason.OTHER.value: "Other",
}


class Certificate(Base):
    """One completion of one course version by one learner.

    What is printed on the certificate is kept as it was at issue (name, title, hours), so a
    verification shows exactly what the paper says, even after a later change of name.
    """

    __tablename__ = "certificates"
    __table_args__ = (
        # One live certificate per learner and completed version; a reissue revokes the old.
        Index(
            "uq_certificates_one_live",
            "user_id",
            "course_id",
            "version_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
            sqlite_where=text("revoked_at IS NULL"),
        ),
        CheckConstraint(
            "revocation_reason IS NULL OR revocation_reason IN "
            "('issued_in_error', 'superseded', 'identity', 'misconduct', 'other')",
            name="revocation_reason_known",
        ),
        CheckConstraint("status_index >= 0", name="status_index_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"))
    # Position of this certificate's bit in the revocation status list.
    status_index: Mapped[int] = mapped_column(unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revocation_reason: Mapped[str | None] = mapped_column(String(40))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    learner_name: Mapped[str] = mapped_column(String(120))
    course_title: Mapped[str] = mapped_column(String(200))
    course_version: Mapped[int]
    hours: Mapped[float]
    issuer_name: Mapped[str] = mapped_column(String(200))
    # The signed Open Badges 3.0 credential exactly as issued.
    credential: Mapped[dict[str, Any]] = mapped_column(JSON)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))

    user = relationship("User", foreign_keys=[user_id], lazy="joined")

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "valid"


class SigningKey(Base):
    """A public key that signed credentials. Kept after rotation so old credentials verify."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    public_key_multibase: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
