"""Certification: what happens when a learner completes a course.

The certificate itself (code, PDF, signed credential) arrives with its own issue; until then
completion calls this hook, which records nothing more.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.models import CourseVersion, Enrollment


def on_course_completed(session: Session, enrollment: Enrollment, version: CourseVersion) -> None:
    """Called once per completion, in the same transaction as the completion itself."""
    return None
