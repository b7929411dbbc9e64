"""Writing the audit log. Called by services in the same transaction as the change itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.models import AuditEvent, User, utcnow

# One INSERT, sent at once: an event never changes once written, so it needs no object in the
# session nor a unit-of-work flush (which costs more than the INSERT on a hot request).
_INSERT = insert(AuditEvent.__table__)
# An event's columns, as `event_values` gives them: all but its id.
COLUMNS = tuple(column.key for column in AuditEvent.__table__.columns if not column.primary_key)


def event_values(
    action: str,
    *,
    actor: User | None = None,
    target: Any = None,
    country_id: int | None = None,
    ip_address: str | None = None,
    **details: Any,
) -> dict[str, Any]:
    """The columns (`COLUMNS`) of one audit event (see `record`), to `write` or for a
    statement that writes it."""
    if country_id is None and isinstance(target, User):
        country_id = target.country_id
    return {
        "occurred_at": utcnow(),
        "action": action,
        "actor_id": actor.id if actor is not None else None,
        "target_type": type(target).__name__.lower() if target is not None else None,
        "target_id": getattr(target, "id", None),
        "country_id": country_id,
        "ip_address": ip_address,
        "details": details,
    }


def record(session: Session, action: str, **event: Any) -> None:
    """Write one audit event, e.g. record(s, "enrolment.created", actor=fp, target=enrolment):
    `event` as `event_values` takes it.

    The actor and the target must have their ids (be flushed) already; the event goes into
    the session's transaction, so it is committed or rolled back with the change it records.
    """
    write(session, event_values(action, **event))


def write(session: Session, values: dict[str, Any]) -> None:
    """Write the event of `event_values`."""
    session.execute(_INSERT, values)
