"""Accounts: signing in, server-side sessions, passwords, profiles, roles and deactivation."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import Select

from app.direct_reads import DirectRead, column_keys, loaded
from app.models import Country, Role, User, UserSession, utcnow
from app.services import audit, mastery
from app.services.errors import DomainError
from app.services.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)

# Verifying against this when the email is unknown keeps a wrong email as slow as a wrong
# password, so timing does not tell whether an account exists.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
# Writing last_seen_at on every request would make every page view a write.
_SEEN_RESOLUTION = timedelta(minutes=1)


class PasswordRefused(DomainError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


class InvalidToken(DomainError):
    """A reset or confirmation link that is forged, used or expired."""


@dataclass(frozen=True)
class SessionPolicy:
    """How long a signed-in session may last: idle and absolute, with and without remember me."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    remember_idle: timedelta = timedelta(days=7)
    remember_absolute: timedelta = timedelta(days=30)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active, approved user with this email and password; None otherwise, in equal time."""
    user = find_user_by_email(session, email)
    if user is None or not user.password_hash:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if not user.is_active or user.pending_approval:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def start_session(
    session: Session,
    user: User,
    *,
    remember: bool,
    policy: SessionPolicy,
    ip_address: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> str:
    """Open a server-side session and return its token (kept only in the signed cookie)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    lifetime = policy.remember_absolute if remember else policy.absolute
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=_token_hash(token),
            remember=remember,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            ip_address=ip_address,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    user.last_login_at = now
    user.session_token = token
    audit.record(session, "login.succeeded", actor=user, target=user, ip_address=ip_address)
    session.flush()
    return token


_USER_FIELDS = column_keys(User)
_COUNTRY_FIELDS = column_keys(Country)

# Every signed-in request runs this, so it skips the ORM (app.direct_reads): the session's
# columns, the user's and the user's country's in one row. With the country read here the
# user needs nothing more of the database, so a page that asks nothing else of it makes no
# ORM session (app.extensions.RequestSessions).
_LIVE_SESSION_SELECT = (
    select(
        UserSession.id,
        UserSession.remember,
        UserSession.last_seen_at,
        UserSession.expires_at,
        UserSession.revoked_at,
        *(getattr(User, name) for name in _USER_FIELDS),
        *(getattr(Country, name) for name in _COUNTRY_FIELDS),
    )
    .select_from(UserSession)
    .join(User, UserSession.user_id == User.id)
    .outerjoin(Country, User.country_id == Country.id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)
_LIVE_SESSION = DirectRead(_LIVE_SESSION_SELECT)
_USER_COLUMNS = slice(5, 5 + len(_USER_FIELDS))
_COUNTRY_COLUMNS = slice(_USER_COLUMNS.stop, _USER_COLUMNS.stop + len(_COUNTRY_FIELDS))
_READ_BEFORE_ALONG = _COUNTRY_COLUMNS.stop


def session_read_along(extend: Callable[[Select], Select]) -> DirectRead:
    """The sign-in lookup with a page's own columns after the user's, `extend` adding them
    (joined to `User`): a page that would ask its own one-row question right after the lookup
    asks it in the same statement (`load_session_user(along=...)`)."""
    return DirectRead(extend(_LIVE_SESSION_SELECT))


class SignedIn(NamedTuple):
    user: User | None
    # The session's id when it is due to be marked seen (`mark_session_seen`).
    seen_due: int | None = None
    # The page's own columns read along (`session_read_along`), when someone is signed in.
    along: tuple | None = None


def load_session_user(
    session: Session,
    token: str,
    *,
    policy: SessionPolicy,
    now: datetime | None = None,
    along: tuple[DirectRead, Mapping[str, Any]] | None = None,
) -> SignedIn:
    """The user of a live session token (None when revoked, expired, idle too long or
    inactive), and with `along` (a `session_read_along` read and its values) the page's own
    columns, read in the same statement.

    It runs outside the ORM (app.direct_reads): first in a request, it leaves the request's
    transaction unopened. A session is marked seen at most once a minute: one query on every
    other request.
    """
    now = now or utcnow()
    read, values = along if along is not None else (_LIVE_SESSION, {})
    row = read.first(session, token_hash=_token_hash(token), **values)
    if row is None:
        return SignedIn(None)
    session_id, remember, last_seen_at, expires_at, revoked_at = row[:5]
    if revoked_at is not None or expires_at <= now:
        return SignedIn(None)
    fields = dict(zip(_USER_FIELDS, row[_USER_COLUMNS], strict=True))
    idle = policy.remember_idle if remember else policy.idle
    if last_seen_at + idle <= now or not fields["is_active"]:
        return SignedIn(None)
    user = loaded(session, User, fields)
    if "country" not in user.__dict__:  # not the session's already: the country read along
        values = dict(zip(_COUNTRY_FIELDS, row[_COUNTRY_COLUMNS], strict=True))
        country = loaded(session, Country, values) if values["id"] is not None else None
        set_committed_value(user, "country", country)
    user.session_token = token
    seen_due = session_id if now - last_seen_at >= _SEEN_RESOLUTION else None
    return SignedIn(user, seen_due, row[_READ_BEFORE_ALONG:] if along is not None else None)


def mark_session_seen(session: Session, session_id: int, *, now: datetime | None = None) -> None:
    session.execute(
        update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now or utcnow())
    )


def end_session(session: Session, token: str | None, *, now: datetime | None = None) -> None:
    if token:
        session.execute(
            update(UserSession)
            .where(UserSession.token_hash == _token_hash(token), UserSession.revoked_at.is_(None))
            .values(revoked_at=now or utcnow())
        )


def end_sessions(
    session: Session, user: User, *, keep_token: str | None = None, now: datetime | None = None
) -> None:
    """Revoke every session of the user except, optionally, the current one."""
    statement = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep_token:
        statement = statement.where(UserSession.token_hash != _token_hash(keep_token))
    session.execute(statement.values(revoked_at=now or utcnow()))


def set_password(
    session: Session,
    user: User,
    new_password: str,
    *,
    keep_token: str | None = None,
    now: datetime | None = None,
) -> None:
    """Set a new password after checking it, and end the person's other sessions."""
    problems = password_problems(new_password, email=user.email, display_name=user.display_name)
    if problems:
        raise PasswordRefused(problems)
    now = now or utcnow()
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    end_sessions(session, user, keep_token=keep_token, now=now)
    audit.record(session, "password.changed", actor=user, target=user)
    session.flush()


def set_active(session: Session, user: User, active: bool, *, by: User) -> None:
    """Deactivate (ending every session at once) or reactivate; records are never deleted."""
    if user.is_active == active:
        return
    user.is_active = active
    if not active:
        end_sessions(session, user)
    audit.record(
        session, "user.reactivated" if active else "user.deactivated", actor=by, target=user
    )
    session.flush()


def approve_registration(session: Session, user: User, *, by: User) -> None:
    user.pending_approval = False
    audit.record(session, "registration.approved", actor=by, target=user)
    session.flush()


def change_role(
    session: Session, user: User, *, role: str, country: Country | None, by: User
) -> None:
    if role not in {r.value for r in Role}:
        raise DomainError(f"unknown role {role!r}")
    if role == Role.FOCAL_POINT.value and country is None:
        raise DomainError("A focal point needs a country.")
    before = {"role": user.role, "country": user.country.code if user.country else None}
    mastery.move_answers(
        session,
        user.id,
        before=mastery.counted_country(user.role, user.country_id),
        after=mastery.counted_country(role, country.id if country else None),
    )
    user.role = role
    user.country = country
    end_sessions(session, user)  # the person signs in again under the new role
    after = {"role": role, "country": country.code if country else None}
    audit.record(session, "user.role_changed", actor=by, target=user, before=before, after=after)
    session.flush()


def update_profile(session: Session, user: User, *, display_name: str, language: str) -> None:
    user.display_name = display_name.strip()
    user.language = language
    audit.record(session, "profile.updated", actor=user, target=user)
    session.flush()


# --- signed links: password reset and email change --------------------------------------


def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def _password_fingerprint(user: User) -> str:
    # Part of the reset token: once the password changes, every earlier link stops working.
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def reset_token(user: User, secret_key: str) -> str:
    return _serializer(secret_key, "password-reset").dumps(
        {"uid": user.id, "pw": _password_fingerprint(user)}
    )


def user_for_reset_token(
    session: Session, token: str, secret_key: str, *, max_age: timedelta
) -> User:
    try:
        data = _serializer(secret_key, "password-reset").loads(
            token, max_age=int(max_age.total_seconds())
        )
    except SignatureExpired:
        raise InvalidToken("This reset link has expired. Ask for a new one.") from None
    except BadSignature:
        raise InvalidToken("This reset link is not valid. Ask for a new one.") from None
    user = session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or not user.is_active or data.get("pw") != _password_fingerprint(user):
        raise InvalidToken("This reset link has already been used. Ask for a new one.")
    return user


def email_change_token(user: User, new_email: str, secret_key: str) -> str:
    return _serializer(secret_key, "email-change").dumps(
        {"uid": user.id, "from": user.email, "to": normalise_email(new_email)}
    )


def confirm_email_change(
    session: Session, token: str, secret_key: str, *, max_age: timedelta
) -> User:
    try:
        data = _serializer(secret_key, "email-change").loads(
            token, max_age=int(max_age.total_seconds())
        )
    except SignatureExpired:
        raise InvalidToken("This confirmation link has expired.") from None
    except BadSignature:
        raise InvalidToken("This confirmation link is not valid.") from None
    user = session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or user.email != data.get("from"):
        raise InvalidToken("This confirmation link has already been used.")
    if find_user_by_email(session, data["to"]) is not None:
        raise InvalidToken("This address is no longer available.")
    user.email = data["to"]
    audit.record(session, "email.changed", actor=user, target=user, previous=data["from"])
    session.flush()
    return user
