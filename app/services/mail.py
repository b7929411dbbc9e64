"""Outgoing mail: every message is stored as an OutgoingMail row first, then delivered.

A failed delivery is written on the row (attempts, last_error) and never raised, so the
page that asked for the message can tell the sender and offer a retry, and
`retry_unsent` can send it later. Nothing is lost as long as the row is committed: callers
should commit after `queue_mail` and before `deliver`, so a crash or a hung mail server
during sending cannot roll the stored message back.

Two backends: "file" (the development default) writes each message as an .eml file and
logs its links, so a developer with no mail server can click them from the console; "smtp"
sends through a real server with smtplib.
"""

from __future__ import annotations

import email.policy
import logging
import os
import re
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OutgoingMail, utcnow
from app.services.errors import DomainError

logger = logging.getLogger("app.mail")

BACKENDS = ("file", "smtp")
DEFAULT_SENDER = "RSO Learning Portal <no-reply@rso-learning.invalid>"
# The column sizes of OutgoingMail, checked here so bad input is a clear error, not a DataError.
MAX_ADDRESS = 254
MAX_SUBJECT = 200
MAX_PURPOSE = 40
# A reason is shown to the sender on a page; a server's multi-line reply is cut to this.
MAX_ERROR = 300

_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class InvalidMail(DomainError):
    """A message that cannot be stored: no valid recipient, a line break in a header, too long."""


@dataclass(frozen=True)
class MailSettings:
    """How to deliver mail; built from the app config with `from_config`."""

    backend: str
    sender: str
    outbox_dir: Path
    host: str = "localhost"
    port: int = 25
    username: str | None = None
    # Kept out of repr, so settings printed in a log or a traceback never show it.
    password: str | None = field(default=None, repr=False)
    use_starttls: bool = False
    use_ssl: bool = False
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(
                f"unknown mail backend {self.backend!r}: MAIL_BACKEND must be one of "
                + ", ".join(repr(name) for name in BACKENDS)
            )
        if self.use_ssl and self.use_starttls:
            raise ValueError(
                "MAIL_USE_SSL and MAIL_USE_TLS exclude each other: SSL wraps the whole "
                "connection, STARTTLS upgrades a plain one; choose one"
            )
        if self.timeout <= 0:
            raise ValueError("MAIL_TIMEOUT must be a positive number of seconds")

    @classmethod
    def from_config(cls, config: Mapping[str, Any], instance_path: str) -> MailSettings:
        """Read the MAIL_* settings, with defaults that work on a laptop with no mail server."""
        backend = str(config.get("MAIL_BACKEND") or "file").strip().lower()
        use_ssl = _as_bool(config.get("MAIL_USE_SSL"), "MAIL_USE_SSL")
        use_starttls = _as_bool(config.get("MAIL_USE_TLS"), "MAIL_USE_TLS")
        # The well-known port for each kind of connection, unless one is given.
        default_port = 465 if use_ssl else 587 if use_starttls else 25
        outbox = config.get("MAIL_OUTBOX_DIR") or Path(instance_path) / "outbox"
        return cls(
            backend=backend,
            sender=str(config.get("MAIL_DEFAULT_SENDER") or DEFAULT_SENDER),
            outbox_dir=Path(outbox),
            host=str(config.get("MAIL_SERVER") or "localhost"),
            port=_as_number(config.get("MAIL_PORT"), default_port, int, "MAIL_PORT"),
            username=config.get("MAIL_USERNAME") or None,
            password=config.get("MAIL_PASSWORD") or None,
            use_starttls=use_starttls,
            use_ssl=use_ssl,
            timeout=_as_number(config.get("MAIL_TIMEOUT"), 10.0, float, "MAIL_TIMEOUT"),
        )


def _as_bool(value: object, name: str) -> bool:
    """A config flag, given as a bool or as a string from the environment."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def _as_number(value: object, default: float, kind: type, name: str) -> Any:
    if value is None or value == "":
        return default
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}") from None


def queue_mail(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    purpose: str,
    related_id: int | None = None,
    created_by_id: int | None = None,
) -> OutgoingMail:
    """Store a message to send. Flushes; the caller commits."""
    to = to.strip()
    subject = subject.strip()
    _check_header("recipient", to, MAX_ADDRESS)
    _check_header("subject", subject, MAX_SUBJECT)
    _check_header("purpose", purpose, MAX_PURPOSE)
    name, address = parseaddr(to)
    if name or address != to or address.count("@") != 1 or not all(address.split("@")):
        raise InvalidMail(f"{to!r} is not an e-mail address")
    mail = OutgoingMail(
        to_address=to,
        subject=subject,
        text_body=body,
        purpose=purpose,
        related_id=related_id,
        created_by_id=created_by_id,
        attempts=0,
    )
    session.add(mail)
    session.flush()
    return mail


def _check_header(what: str, value: str, limit: int) -> None:
    if not value:
        raise InvalidMail(f"the {what} is empty")
    if "\r" in value or "\n" in value:
        # A line break in a header would let the text write headers of its own.
        raise InvalidMail(f"the {what} must be on one line")
    if len(value) > limit:
        raise InvalidMail(f"the {what} is longer than {limit} characters")


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    """The RFC 5322 message: From, To, Subject, Date, Message-ID, plain-text UTF-8 body."""
    # The SMTP policy: CRLF line ends, RFC 2047 words for names and subjects in any script.
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    created = mail.created_at or utcnow()
    message["Date"] = format_datetime(created)
    message["Message-ID"] = _message_id(mail, created, sender)
    # Quoted-printable keeps the message 7-bit (any server takes it) and links readable.
    message.set_content(mail.text_body, charset="utf-8", cte="quoted-printable")
    return message


def _message_id(mail: OutgoingMail, created: datetime, sender: str) -> str:
    """The same id on every attempt, so a reader's client can drop a duplicate from a retry."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "rso-learning.invalid"
    if mail.id is None:
        # Given a domain, make_msgid never asks DNS for this host's name.
        return make_msgid("rso", domain=domain)
    return f"<{created:%Y%m%d%H%M%S%f}.{mail.id}.rso@{domain}>"


def deliver(
    session: Session, mail: OutgoingMail, settings: MailSettings, *, now: datetime | None = None
) -> bool:
    """Try to send one stored message; record the outcome on the row. True when sent."""
    return _attempt(session, mail, settings, now=now) is None


def deliver_batch(
    session: Session, mails: list[OutgoingMail], settings: MailSettings
) -> tuple[int, int]:
    """Deliver freshly stored messages in order. Returns (sent, failed).

    Stops at the first failure that would repeat for every message (server unreachable, login
    refused): the rest stay stored, unsent, for a retry, without one timeout each.
    """
    sent = failed = 0
    for mail in mails:
        problem = _attempt(session, mail, settings)
        if problem is None:
            sent += 1
            continue
        failed += 1
        if not isinstance(problem, _PER_MESSAGE):
            failed += len(mails) - sent - failed
            break
    return sent, failed


def retry_unsent(
    session: Session, settings: MailSettings, *, max_attempts: int = 5, limit: int = 100
) -> tuple[int, int]:
    """Deliver stored messages not yet sent, oldest first. Returns (sent, failed).

    Stops at the first failure that would fail every message alike (server unreachable, login
    refused, outbox not writable), so a dead server costs one timeout, not one per message;
    the rest stay queued for the next run.
    """
    pending = session.scalars(
        select(OutgoingMail)
        .where(OutgoingMail.sent_at.is_(None), OutgoingMail.attempts < max_attempts)
        .order_by(OutgoingMail.created_at, OutgoingMail.id)
        .limit(limit)
        # Two runs at once (two workers, a cron overlapping itself) must not send a message
        # twice: on PostgreSQL each takes rows the other has not locked. SQLite has one writer.
        .with_for_update(skip_locked=True)
    ).all()
    sent = failed = 0
    for mail in pending:
        problem = _attempt(session, mail, settings)
        if problem is None:
            sent += 1
            continue
        failed += 1
        if not isinstance(problem, _PER_MESSAGE):
            break
    return sent, failed


# Failures that belong to one message; any other failure would repeat for every message.
_PER_MESSAGE = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, ValueError)


def _attempt(
    session: Session, mail: OutgoingMail, settings: MailSettings, *, now: datetime | None = None
) -> Exception | None:
    """Deliver and record the outcome; the failure, or None when sent."""
    if now is not None and now.tzinfo is None:
        raise ValueError("naive datetime given; use timezone-aware UTC times")
    if mail.sent_at is not None:
        return None  # already delivered: sending again would only duplicate it
    if mail.id is None:
        session.add(mail)
        session.flush()  # stored before it goes anywhere
    mail.attempts = (mail.attempts or 0) + 1
    try:
        message = build_message(mail, settings.sender)
        if settings.backend == "file":
            _write_to_outbox(mail, message, settings, now or utcnow())
        else:
            _send_over_smtp(message, settings)
    # SMTPException is an OSError; ValueError covers a message the email package cannot write.
    except (OSError, ValueError) as exc:
        mail.last_error = _reason(exc, settings)
        session.flush()
        logger.warning(
            "mail #%s to %s not sent (attempt %s): %s",
            mail.id,
            mail.to_address,
            mail.attempts,
            mail.last_error,
        )
        return exc
    mail.sent_at = now or utcnow()
    mail.last_error = None
    session.flush()
    if settings.backend == "smtp":
        logger.info("mail #%s sent to %s: %s", mail.id, mail.to_address, mail.subject)
    return None


def _write_to_outbox(
    mail: OutgoingMail, message: EmailMessage, settings: MailSettings, now: datetime
) -> None:
    folder = settings.outbox_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{mail.id}.eml"
    # Written aside and renamed, so the outbox never holds half a message.
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(message.as_bytes())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    links = " ".join(_links(mail.text_body)) or "(none)"
    logger.info(
        "mail #%s to %s: %s | links: %s | saved as %s",
        mail.id,
        mail.to_address,
        mail.subject,
        links,
        path,
    )


def _links(body: str) -> list[str]:
    """Every http(s) link in a text, without the punctuation that ends a sentence around it."""
    links = []
    for match in _LINK.finditer(body):
        link = match.group().rstrip(".,;:!?")
        while link.endswith(")") and link.count(")") > link.count("("):
            link = link[:-1]
        links.append(link)
    return links


def _send_over_smtp(message: EmailMessage, settings: MailSettings) -> None:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if settings.use_ssl:
        client = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        if settings.use_starttls:
            client.starttls(context=context)
        if settings.username:
            client.login(settings.username, settings.password or "")
        # One recipient: refused, it raises SMTPRecipientsRefused rather than returning it.
        client.send_message(message)
    finally:
        _close(client)


def _close(client: smtplib.SMTP) -> None:
    """Say goodbye; once the message is accepted, a failing QUIT does not unsend it."""
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def _reason(exc: Exception, settings: MailSettings) -> str:
    """A short reason a person can act on; never the password or the message body."""
    server = f"mail server {settings.host}:{settings.port}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refusals = [
            f"{address}: {_reply(code, text)}" for address, (code, text) in exc.recipients.items()
        ]
        reason = "recipient refused by the mail server: " + "; ".join(refusals)
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        reason = f"sender {exc.sender} refused: {_reply(exc.smtp_code, exc.smtp_error)}"
    elif isinstance(exc, smtplib.SMTPAuthenticationError):
        reason = f"login to {server} refused: {_reply(exc.smtp_code, exc.smtp_error)}"
    elif isinstance(exc, smtplib.SMTPConnectError):
        reason = f"{server} refused the connection: {_reply(exc.smtp_code, exc.smtp_error)}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        reason = f"{server} replied {_reply(exc.smtp_code, exc.smtp_error)}"
    elif isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
        exc.__context__, TimeoutError
    ):
        # smtplib reports a reply that never came as a disconnection; say what happened.
        reason = f"no answer from {server} within {settings.timeout:g} seconds"
    elif isinstance(exc, smtplib.SMTPServerDisconnected):
        reason = f"{server} closed the connection unexpectedly"
    elif isinstance(exc, smtplib.SMTPException):
        reason = f"{server}: {exc}"
    elif isinstance(exc, ConnectionRefusedError):
        reason = f"connection refused by {server} (is it running?)"
    elif isinstance(exc, TimeoutError):
        reason = f"no answer from {server} within {settings.timeout:g} seconds"
    elif isinstance(exc, socket.gaierror):
        reason = f"cannot find {server}: {exc.strerror}"
    elif isinstance(exc, ssl.SSLError):
        reason = f"TLS failed with {server}: {exc.reason or exc}"
    elif isinstance(exc, OSError) and settings.backend == "file":
        reason = f"cannot write to the outbox {settings.outbox_dir}: {exc.strerror or exc}"
    elif isinstance(exc, OSError):
        reason = f"cannot reach {server}: {exc.strerror or exc}"
    else:
        reason = f"the message cannot be written: {exc}"
    reason = " ".join(reason.split())  # one line, whatever the server sent
    return reason if len(reason) <= MAX_ERROR else reason[: MAX_ERROR - 1] + "…"


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()
