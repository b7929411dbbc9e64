"""Invitations: single-use, expiring links that create an account and its enrolments."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Country, Course, Invitation, User, utcnow
from app.services import audit
from app.services.accounts import PasswordRefused, normalise_email
from app.services.enrolment import enrol
from app.services.errors import DomainError
from app.services.passwords import hash_password, password_problems

INVITATION_LIFETIME = timedelta(days=14)


class InvitationUnavailable(DomainError):
    """The link is forged, used, withdrawn or expired."""


class AlreadyInvited(DomainError):
    """The actor can see that this address already has an account or a pending invitation."""


@dataclass
class NewInvitation:
    """What the caller mails: either an invitation link, or, for an address that already has an
    account the inviter may not see, a notice to that address (so the form reveals nothing)."""

    invitation: Invitation | None
    token: str | None
    existing_user: User | None = None


@dataclass
class AcceptedInvitation:
    user: User
    enrolled: list[str] = field(default_factory=list)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def pending_invitation_for(session: Session, email: str, *, now: datetime) -> Invitation | None:
    return session.scalar(
        select(Invitation).where(
            Invitation.email == normalise_email(email),
            Invitation.accepted_at.is_(None),
            Invitation.withdrawn_at.is_(None),
            Invitation.expires_at > now,
        )
    )


def invite(
    session: Session,
    *,
    email: str,
    display_name: str,
    role: str,
    country: Country | None,
    invited_by: User,
    course_slugs: list[str] | None = None,
    due_on: date | None = None,
    visible_to_inviter: bool,
    now: datetime | None = None,
) -> NewInvitation:
    """Create an invitation. The caller has asked policy.can_invite. Flushes only.

    `visible_to_inviter` says whether the inviter may know about an existing account with this
    address (their own country, or an admin); if not, nothing reveals that it exists.
    """
    now = now or utcnow()
    email = normalise_email(email)
    existing = session.scalar(select(User).where(User.email == email))
    if existing is not None:
        if visible_to_inviter:
            raise AlreadyInvited(f"{email} already has an account: enrol them instead.")
        audit.record(session, "invitation.existing_account", actor=invited_by, target=existing)
        return NewInvitation(invitation=None, token=None, existing_user=existing)
    if pending_invitation_for(session, email, now=now) is not None:
        raise AlreadyInvited(f"{email} already has a pending invitation: resend it instead.")
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        email=email,
        display_name=display_name.strip(),
        role=role,
        country_id=country.id if country is not None else None,
        token_hash=_hash(token),
        invited_by_id=invited_by.id,
        course_slugs=list(course_slugs or []),
        due_on=due_on,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    session.add(invitation)
    session.flush()
    audit.record(
        session,
        "invitation.created",
        actor=invited_by,
        target=invitation,
        country_id=invitation.country_id,
        role=role,
        courses=invitation.course_slugs,
    )
    return NewInvitation(invitation=invitation, token=token)


@dataclass(frozen=True)
class InvitationRequest:
    email: str
    display_name: str
    course_slugs: list[str] = field(default_factory=list)
    due_on: date | None = None


def invite_many(
    session: Session,
    requests: list[InvitationRequest],
    *,
    role: str,
    country: Country | None,
    invited_by: User,
    may_see: Callable[[User], bool],
    now: datetime | None = None,
) -> list[NewInvitation]:
    """Create many invitations at once (a CSV upload), with two queries whatever the count.

    Raises AlreadyInvited, changing nothing, if an address turned out to be taken in a way
    the inviter may know (`may_see(user)`); addresses of accounts they may not see get a notice.
    """
    now = now or utcnow()
    emails = {normalise_email(r.email) for r in requests}
    existing = {u.email: u for u in session.scalars(select(User).where(User.email.in_(emails)))}
    pending = set(
        session.scalars(
            select(Invitation.email).where(
                Invitation.email.in_(emails),
                Invitation.accepted_at.is_(None),
                Invitation.withdrawn_at.is_(None),
                Invitation.expires_at > now,
            )
        )
    )
    results: list[NewInvitation] = []
    for request in requests:
        email = normalise_email(request.email)
        person = existing.get(email)
        if person is not None and may_see(person):
            raise AlreadyInvited(f"{email} already has an account: enrol them instead.")
        if person is not None:
            audit.record(session, "invitation.existing_account", actor=invited_by, target=person)
            results.append(NewInvitation(invitation=None, token=None, existing_user=person))
            continue
        if email in pending:
            raise AlreadyInvited(f"{email} already has a pending invitation: resend it instead.")
        token = secrets.token_urlsafe(32)
        invitation = Invitation(
            email=email,
            display_name=request.display_name.strip(),
            role=role,
            country_id=country.id if country is not None else None,
            token_hash=_hash(token),
            invited_by_id=invited_by.id,
            course_slugs=list(request.course_slugs),
            due_on=request.due_on,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        session.add(invitation)
        results.append(NewInvitation(invitation=invitation, token=token))
    session.flush()
    for result in results:
        if result.invitation is not None:
            audit.record(
                session,
                "invitation.created",
                actor=invited_by,
                target=result.invitation,
                country_id=result.invitation.country_id,
                role=role,
                courses=result.invitation.course_slugs,
                source="csv",
            )
    session.flush()
    return results


def find_open_invitation(
    session: Session, token: str, *, now: datetime | None = None
) -> Invitation:
    now = now or utcnow()
    invitation = session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)))
    if invitation is None:
        raise InvitationUnavailable("This invitation link is not valid.")
    if invitation.accepted_at is not None:
        raise InvitationUnavailable("This invitation has already been used. Please sign in.")
    if invitation.withdrawn_at is not None:
        raise InvitationUnavailable("This invitation has been withdrawn.")
    if invitation.expires_at <= now:
        raise InvitationUnavailable(
            "This invitation has expired. Ask your focal point to send a new one."
        )
    return invitation


def accept(
    session: Session,
    token: str,
    *,
    display_name: str,
    password: str,
    now: datetime | None = None,
) -> AcceptedInvitation:
    """Create the account and its enrolments, and close the invitation. Flushes only."""
    now = now or utcnow()
    invitation = find_open_invitation(session, token, now=now)
    problems = password_problems(password, email=invitation.email, display_name=display_name)
    if problems:
        raise PasswordRefused(problems)
    user = User(
        email=invitation.email,
        display_name=display_name.strip(),
        role=invitation.role,
        country_id=invitation.country_id,
        password_hash=hash_password(password),
        password_changed_at=now,
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise InvitationUnavailable("An account with this address already exists.") from None
    invitation.accepted_at = now
    invitation.accepted_user_id = user.id
    audit.record(session, "invitation.accepted", actor=user, target=invitation)
    enrolled = []
    if invitation.course_slugs:
        courses = session.scalars(
            select(Course).where(
                Course.slug.in_(invitation.course_slugs),
                Course.published_version_id.is_not(None),
                Course.archived_at.is_(None),
            )
        ).all()
        inviter = session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
        for course in courses:
            enrol(session, user, course, by=inviter, due_on=invitation.due_on, now=now)
            enrolled.append(course.slug)
    session.flush()
    return AcceptedInvitation(user=user, enrolled=enrolled)


def renew(
    session: Session, invitation: Invitation, *, by: User, now: datetime | None = None
) -> str:
    """A fresh link and expiry for a pending or expired invitation; the old link stops working."""
    now = now or utcnow()
    if invitation.accepted_at is not None or invitation.withdrawn_at is not None:
        raise DomainError("Only a pending or expired invitation can be sent again.")
    token = secrets.token_urlsafe(32)
    invitation.token_hash = _hash(token)
    invitation.expires_at = now + INVITATION_LIFETIME
    audit.record(session, "invitation.resent", actor=by, target=invitation)
    session.flush()
    return token


def withdraw(
    session: Session, invitation: Invitation, *, by: User, now: datetime | None = None
) -> None:
    if invitation.accepted_at is not None:
        raise DomainError("This invitation has already been accepted.")
    if invitation.withdrawn_at is None:
        invitation.withdrawn_at = now or utcnow()
        audit.record(session, "invitation.withdrawn", actor=by, target=invitation)
        session.flush()


def unavailable_emails(
    session: Session, emails: set[str], *, visible_country_id: int | None, now: datetime
) -> set[str]:
    """Of these addresses, those the inviter may be told are taken: accounts they may see and
    pending invitations. `visible_country_id` None means everything (an admin)."""
    if not emails:
        return set()
    accounts = select(User.email).where(User.email.in_(emails))
    if visible_country_id is not None:
        accounts = accounts.where(User.country_id == visible_country_id)
    pending = select(Invitation.email).where(
        Invitation.email.in_(emails),
        Invitation.accepted_at.is_(None),
        Invitation.withdrawn_at.is_(None),
        Invitation.expires_at > now,
    )
    return set(session.scalars(accounts)) | set(session.scalars(pending))
