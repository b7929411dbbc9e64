"""Certificates: issue on completion, find by code, revoke, reissue, list revoked bits.

Signing and the credential's shape belong to `app.credentials`; this module decides when a
certificate exists and what it says, and records every change in the audit log.
"""

from __future__ import annotations

import calendar
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import (
    Certificate,
    Course,
    CourseVersion,
    Enrollment,
    RevocationReason,
    User,
    utcnow,
)
from app.services import audit, certificate_codes
from app.services.errors import DomainError

# Bits in the revocation list: 2^20 (128 KiB, a few hundred bytes once compressed) leaves
# plenty of room for random positions.
STATUS_LIST_LENGTH = 2**20


class CertificateSigner(Protocol):
    """Builds and signs the Open Badges credential of a certificate."""

    def credential_for(
        self, certificate: Certificate, version: CourseVersion
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Verification:
    """What a public check says: the certificate (or None) and its status."""

    certificate: Certificate | None
    status: str  # valid | revoked | expired | not found | mistyped
    problem: str | None = None


def _add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later, or the month's last day (31 January + 1 → 28/29 February)."""
    years, month_index = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + years, month_index + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def live_certificate(
    session: Session, user_id: int, course_id: int, version_id: int
) -> Certificate | None:
    return session.scalar(
        select(Certificate).where(
            Certificate.user_id == user_id,
            Certificate.course_id == course_id,
            Certificate.version_id == version_id,
            Certificate.revoked_at.is_(None),
        )
    )


def issue(
    session: Session,
    enrollment: Enrollment,
    version: CourseVersion,
    *,
    signer: CertificateSigner,
    issuer_name: str,
    now: datetime | None = None,
    replaces: Certificate | None = None,
) -> Certificate | None:
    """Issue the certificate of a completion, once. None when the course gives none."""
    if not version.certificate:
        return None
    existing = live_certificate(session, enrollment.user_id, enrollment.course_id, version.id)
    if existing is not None:
        return existing
    now = now or utcnow()
    learner = session.get(User, enrollment.user_id)
    for _ in range(5):
        # A clash of code or status index (two issues at the same moment) is retried.
        certificate = Certificate(
            code=certificate_codes.new_code(),
            user_id=enrollment.user_id,
            course_id=enrollment.course_id,
            version_id=version.id,
            status_index=_random_status_index(),
            issued_at=enrollment.completed_at or now,
            expires_at=_add_months(enrollment.completed_at or now, version.validity_months)
            if version.validity_months
            else None,
            learner_name=learner.display_name,
            course_title=version.title,
            course_version=version.number,
            hours=round(version.minutes / 60, 1),
            issuer_name=issuer_name,
            credential={},
            replaces_id=replaces.id if replaces is not None else None,
        )
        try:
            with session.begin_nested():
                session.add(certificate)
                session.flush()
                certificate.credential = signer.credential_for(certificate, version)
                session.flush()
        except IntegrityError:
            existing = live_certificate(
                session, enrollment.user_id, enrollment.course_id, version.id
            )
            if existing is not None:
                return existing
            continue
        audit.record(
            session,
            "certificate.issued",
            actor=learner,
            target=certificate,
            country_id=learner.country_id,
            code=certificate.code,
            version=version.number,
        )
        return certificate
    raise DomainError("The certificate could not be issued; please try again.")


def _random_status_index() -> int:
    """A random free-looking bit: random positions give herd privacy (the Bitstring Status
    List recommendation) and never race; a rare clash is retried by the caller."""
    return secrets.randbelow(STATUS_LIST_LENGTH)


def verify_code(session: Session, typed: str, *, now: datetime | None = None) -> Verification:
    """The public check of a typed code: found or not, and its status now."""
    code, problem = certificate_codes.parse(typed)
    if code is None:
        return Verification(None, "mistyped", problem)
    certificate = session.scalar(select(Certificate).where(Certificate.code == code))
    if certificate is None:
        return Verification(None, "not found")
    return Verification(certificate, certificate.status(now or utcnow()))


def revoke(
    session: Session,
    certificate: Certificate,
    *,
    reason: str,
    by: User,
    now: datetime | None = None,
) -> None:
    """Revoke, keeping the record; every check shows it at once."""
    if reason not in {r.value for r in RevocationReason}:
        raise DomainError("Choose a reason for the revocation.")
    if certificate.revoked_at is not None:
        raise DomainError("This certificate is already revoked.")
    certificate.revoked_at = now or utcnow()
    certificate.revocation_reason = reason
    certificate.revoked_by_id = by.id
    audit.record(
        session,
        "certificate.revoked",
        actor=by,
        target=certificate,
        country_id=certificate.user.country_id if certificate.user else None,
        reason=reason,
        code=certificate.code,
    )
    session.flush()


def reissue(
    session: Session,
    certificate: Certificate,
    *,
    by: User,
    signer: CertificateSigner,
    issuer_name: str,
    now: datetime | None = None,
) -> Certificate:
    """A new certificate (new code, current name) replacing this one, which is revoked."""
    now = now or utcnow()
    if certificate.revoked_at is None:
        revoke(session, certificate, reason=RevocationReason.SUPERSEDED.value, by=by, now=now)
    enrollment = session.scalar(
        select(Enrollment).where(
            Enrollment.user_id == certificate.user_id,
            Enrollment.course_id == certificate.course_id,
        )
    )
    version = session.get(CourseVersion, certificate.version_id)
    if enrollment is None or version is None:
        raise DomainError("The completion behind this certificate is not found.")
    replacement = issue(
        session,
        enrollment,
        version,
        signer=signer,
        issuer_name=issuer_name,
        now=now,
        replaces=certificate,
    )
    # The replacement keeps the original completion date.
    replacement.issued_at = certificate.issued_at
    audit.record(
        session, "certificate.reissued", actor=by, target=replacement, replaces=certificate.code
    )
    session.flush()
    return replacement


def revoked_indexes(session: Session) -> list[int]:
    return list(
        session.scalars(select(Certificate.status_index).where(Certificate.revoked_at.is_not(None)))
    )


def certificates_of(session: Session, learner: User) -> list[tuple[Certificate, Course]]:
    rows = session.execute(
        select(Certificate, Course)
        .join(Course, Course.id == Certificate.course_id)
        .where(Certificate.user_id == learner.id)
        .order_by(Certificate.issued_at.desc())
    )
    return [(certificate, course) for certificate, course in rows]
