"""Writing the audit log. Called by services in the same transaction as the change itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.models import AuditEvent, User


def record(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    target: Any = None,
    country_id: int | None = None,
    ip_address: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add one audit event, e.g. record(s, "enrolment.created", actor=fp, target=enrolment)."""
    if country_id is None and isinstance(target, User):
        country_id = target.country_id
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        target_type=type(target).__name__.lower() if target is not None else None,
        target_id=getattr(target, "id", None),
        country_id=country_id,
        ip_address=ip_address,
        details=details,
    )
    session.add(event)
    return event
