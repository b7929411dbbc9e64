"""Who may see or change what. Every view and service that touches another person asks here.

The rule of the portal: an admin sees everything; a focal point sees the people, invitations
and enrolments of their own country only; a learner sees their own records.
"""

from __future__ import annotations

from sqlalchemy import Select

from app.models import Certificate, Invitation, QuizAttempt, Role, User


def is_admin(actor: User | None) -> bool:
    return actor is not None and actor.is_active and actor.role == Role.ADMIN.value


def is_focal_point(actor: User | None) -> bool:
    return (
        actor is not None
        and actor.is_active
        and actor.role == Role.FOCAL_POINT.value
        and actor.country_id is not None
    )


def can_manage_staff(actor: User | None) -> bool:
    """May open the focal point pages (roster, invitations, enrolment)."""
    return is_admin(actor) or is_focal_point(actor)


def same_country(actor: User, country_id: int | None) -> bool:
    return country_id is not None and actor.country_id == country_id


def can_see_person(actor: User | None, person: User) -> bool:
    if actor is None:
        return False
    if actor.id == person.id or is_admin(actor):
        return True
    return is_focal_point(actor) and same_country(actor, person.country_id)


def can_manage_person(actor: User | None, person: User) -> bool:
    """Deactivate, reactivate, enrol, approve: admins anyone, focal points their own learners."""
    if is_admin(actor):
        return actor.id != person.id  # type: ignore[union-attr]
    return (
        is_focal_point(actor)
        and same_country(actor, person.country_id)  # type: ignore[arg-type]
        and person.role == Role.LEARNER.value
    )


def can_invite(actor: User | None, *, role: str, country_id: int | None) -> bool:
    if is_admin(actor):
        return role in {r.value for r in Role}
    return (
        is_focal_point(actor) and role == Role.LEARNER.value and same_country(actor, country_id)  # type: ignore[arg-type]
    )


def can_see_invitation(actor: User | None, invitation: Invitation) -> bool:
    if is_admin(actor):
        return True
    return is_focal_point(actor) and same_country(actor, invitation.country_id)  # type: ignore[arg-type]


def can_administer(actor: User | None) -> bool:
    """Users, roles, countries and the audit log."""
    return is_admin(actor)


def scope_people(actor: User, statement: Select) -> Select:
    """Limit a query over users to the people the actor may see."""
    if is_admin(actor):
        return statement
    if is_focal_point(actor):
        return statement.where(User.country_id == actor.country_id)
    return statement.where(User.id == actor.id)


def scope_invitations(actor: User, statement: Select) -> Select:
    if is_admin(actor):
        return statement
    if is_focal_point(actor):
        return statement.where(Invitation.country_id == actor.country_id)
    return statement.where(Invitation.id.is_(None))


def can_see_attempt(actor: User | None, attempt: QuizAttempt) -> bool:
    """A quiz attempt, with its answers, is its learner's own."""
    return actor is not None and actor.is_active and attempt.user_id == actor.id


def can_see_certificate(actor: User | None, certificate: Certificate) -> bool:
    """Its learner, their country's focal point and admins (anyone may check it by code)."""
    return can_see_person(actor, certificate.user)


def can_revoke_certificates(actor: User | None) -> bool:
    return is_admin(actor)


def can_author(actor: User | None) -> bool:
    """Write, publish, archive and roll back courses."""
    return is_admin(actor)
