"""Certification: what happens when a learner completes a course.

Completion (app.services.progress) calls this hook once, in the same transaction; it issues the
certificate through the portal's certificate authority (app.certificates.authority), which
holds the signing key and the public address the credential names.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from app.models import Certificate, CourseVersion, Enrollment


def on_course_completed(
    session: Session, enrollment: Enrollment, version: CourseVersion
) -> Certificate | None:
    """Issue the completion's certificate (None when the course gives none)."""
    authority = current_app.extensions["certificates"]
    return authority.issue(session, enrollment, version)
