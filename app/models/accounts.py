"""Accounts: countries, people and invitations."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow


class Role(StrEnum):
    LEARNER = "learner"
    FOCAL_POINT = "focal_point"
    ADMIN = "admin"


ROLE_VALUES = ", ".join(f"'{role.value}'" for role in Role)


class Country(Base):
    """A Bali Process member or observer, identified by its ISO 3166-1 alpha-2 code."""

    __tablename__ = "countries"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(2), unique=True)
    code3: Mapped[str | None] = mapped_column(String(3), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<Country {self.code}>"


class User(UserMixin, Base):
    """A person with an account: learner, focal point or admin."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN ({ROLE_VALUES})", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so uniqueness is case-insensitive on every backend.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(120))
    country_id: Mapped[int | None] = mapped_column(ForeignKey("countries.id"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=Role.LEARNER.value)
    language: Mapped[str] = mapped_column(String(16), default="en")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Self-registered people wait for their country's focal point to approve them.
    pending_approval: Mapped[bool] = mapped_column(default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The time step of the last accepted code: a code is never accepted twice.
    totp_last_step: Mapped[int | None]
    # Argon2 hashes of the unused two-factor recovery codes.
    recovery_code_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    country: Mapped[Country | None] = relationship(lazy="joined")

    # Set for the request by the session loader: Flask-Login stores this opaque session
    # token, never the user id, so a session can be revoked on the server.
    session_token = None

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @property
    def is_focal_point(self) -> bool:
        return self.role == Role.FOCAL_POINT.value

    @property
    def is_staff(self) -> bool:
        """Admins and focal points: the people who see others' records."""
        return self.role in (Role.ADMIN.value, Role.FOCAL_POINT.value)

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class UserSession(Base):
    """A signed-in browser. Revoking the row ends the session, whatever the cookie says."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship(lazy="joined")


class Invitation(Base):
    """A single-use, expiring invitation to create an account. Only the token's hash is kept."""

    __tablename__ = "invitations"
    __table_args__ = (CheckConstraint(f"role IN ({ROLE_VALUES})", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20), default=Role.LEARNER.value)
    country_id: Mapped[int | None] = mapped_column(ForeignKey("countries.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    course_slugs: Mapped[list[str]] = mapped_column(JSON, default=list)
    due_on: Mapped[date | None]
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    country: Mapped[Country | None] = relationship(lazy="joined")
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id], lazy="joined")

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.withdrawn_at is not None:
            return "withdrawn"
        if self.expires_at <= utcnow():
            return "expired"
        return "pending"
