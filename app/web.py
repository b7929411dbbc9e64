"""Small helpers the blueprints share: the client address, safe redirects, templated mail."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import current_app, render_template, request, url_for
from wtforms import SelectChoice

from app.extensions import db
from app.models import OutgoingMail
from app.services import mail


def writes_on_get(view: Callable) -> Callable:
    """Marks a GET view that writes (an audit record, say). SQLite would refuse its write when
    another process wrote since the request began reading, so its transaction takes the
    write lock at once, as every POST's does (app/extensions.py). Put it under the route."""
    view.writes_on_get = True  # type: ignore[attr-defined]
    return view


def fixed_url(endpoint: str, **values: str) -> str:
    """`url_for` for the links every page repeats (navigation, static files), built once per
    process: on a page this hot, building them each time cost a tenth of the page."""
    if current_app.debug:  # static files change while developing; their digests with them
        return url_for(endpoint, **values)
    known: dict[tuple, str] = current_app.extensions.setdefault("web.fixed_urls", {})
    key = (request.script_root, endpoint, *sorted(values.items()))
    found = known.get(key)
    if found is None:
        found = known[key] = url_for(endpoint, **values)
    return found


def client_ip() -> str | None:
    # Behind a reverse proxy, ProxyFix (configured in deployment) sets remote_addr correctly.
    return request.remote_addr


def safe_next(target: str | None, default: str) -> str:
    """`next=` only ever leads within this site: a path, never another host or scheme."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def mail_settings() -> mail.MailSettings:
    return mail.MailSettings.from_config(current_app.config, current_app.instance_path)


@dataclass
class MailItem:
    to: str
    subject: str
    template: str
    purpose: str
    related_id: int | None = None
    created_by_id: int | None = None
    context: dict[str, object] = field(default_factory=dict)


def send_templated_mails(items: list[MailItem]) -> list[OutgoingMail]:
    """Store many messages in one commit, then deliver them and commit the outcomes once."""
    messages = [
        mail.queue_mail(
            db.session,
            to=item.to,
            subject=item.subject,
            body=render_template(f"mail/{item.template}.txt", **item.context),
            purpose=item.purpose,
            related_id=item.related_id,
            created_by_id=item.created_by_id,
        )
        for item in items
    ]
    db.session.commit()
    mail.deliver_batch(db.session, messages, mail_settings())
    db.session.commit()
    return messages


def send_templated_mail(
    *,
    to: str,
    subject: str,
    template: str,
    purpose: str,
    related_id: int | None = None,
    created_by_id: int | None = None,
    **context: object,
) -> OutgoingMail:
    """Store the message, commit, then try to deliver it and commit the outcome.

    The row is committed before delivery so that a failed send is never lost: the caller reads
    `sent_at` to tell the sender, and the message can be retried later.
    """
    body = render_template(f"mail/{template}.txt", **context)
    message = mail.queue_mail(
        db.session,
        to=to,
        subject=subject,
        body=body,
        purpose=purpose,
        related_id=related_id,
        created_by_id=created_by_id,
    )
    db.session.commit()
    mail.deliver(db.session, message, mail_settings())
    db.session.commit()
    return message


def options(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    """(value, label) pairs as the options of a select or checkbox list."""
    return [SelectChoice(value, label) for value, label in pairs]
