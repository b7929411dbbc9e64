"""Outgoing mail is stored first, then delivered through a real local SMTP server or a folder."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from aiosmtpd.smtp import Session as SMTPSession
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import OutgoingMail
from app.services.mail import (
    InvalidMail,
    MailSettings,
    build_message,
    deliver,
    queue_mail,
    retry_unsent,
)
from tests.smtp import Collector, StartServer, free_port

THAI = "สวัสดีครับ คุณสมชาย ใจดี"
ARABIC = "مرحبا يا أحمد"
VIETNAMESE = "Lời mời tham gia khóa học"
LINK = "https://learn.rso.invalid/invitations/accept?token=abc123"
BODY = f"{THAI}\n{ARABIC}\n\nAccept your invitation: {LINK}.\n"
SENDER = "RSO Learning Portal <no-reply@rso-learning.invalid>"


def smtp_settings(
    tmp_path: Path,
    port: int,
    *,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 5.0,
) -> MailSettings:
    return MailSettings(
        backend="smtp",
        sender=SENDER,
        outbox_dir=tmp_path / "outbox",
        host="127.0.0.1",
        port=port,
        username=username,
        password=password,
        timeout=timeout,
    )


def queue_invitation(
    to: str = "learner@example.org", subject: str = f"{VIETNAMESE} – UNTOC"
) -> OutgoingMail:
    mail = queue_mail(
        db.session, to=to, subject=subject, body=BODY, purpose="invitation", related_id=12
    )
    db.session.commit()  # stored before any delivery, as a view does
    return mail


def test_a_queued_message_is_delivered_over_smtp_with_every_script_intact(
    app: Flask, tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server()
    mail = queue_invitation()
    now = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

    assert deliver(db.session, mail, smtp_settings(tmp_path, server.port), now=now) is True
    db.session.commit()

    assert len(server.envelopes) == 1
    assert server.envelopes[0].rcpt_tos == ["learner@example.org"]
    received = server.messages[0]
    assert received["To"] == "learner@example.org"
    assert received["Subject"] == f"{VIETNAMESE} – UNTOC"
    assert received["From"] == SENDER
    assert received["Message-ID"] and received["Date"]
    assert received.get_content_type() == "text/plain"
    assert received.get_content_charset() == "utf-8"
    text = received.get_content()
    assert THAI in text and ARABIC in text and LINK in text
    # 7-bit on the wire, so no server along the way can mangle the Thai or the Arabic.
    assert isinstance(server.envelopes[0].content, bytes)
    assert server.envelopes[0].content.isascii()

    db.session.expire_all()
    stored = db.session.get(OutgoingMail, mail.id)
    assert stored is not None
    assert stored.sent_at == now
    assert stored.attempts == 1
    assert stored.last_error is None


def test_a_refused_connection_is_recorded_and_a_retry_sends_it_later(
    app: Flask, tmp_path: Path, smtp_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens here yet
    settings = smtp_settings(tmp_path, port)
    mail = queue_invitation()

    assert deliver(db.session, mail, settings) is False
    db.session.commit()

    db.session.expire_all()
    assert mail.sent_at is None
    assert mail.attempts == 1
    assert mail.last_error is not None
    assert mail.last_error == f"connection refused by mail server 127.0.0.1:{port} (is it running?)"
    assert "not sent" in caplog.text  # the sender can be told, and so can the operator

    server = smtp_server(port=port)
    assert retry_unsent(db.session, settings) == (1, 0)
    db.session.commit()

    db.session.expire_all()
    assert mail.sent_at is not None
    assert mail.attempts == 2
    assert mail.last_error is None
    assert len(server.envelopes) == 1


def test_a_refused_recipient_is_recorded_as_a_failure(
    app: Flask, tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server(refuse_recipients="550 5.1.1 No such mailbox here")
    mail = queue_invitation(to="nobody@example.org")

    assert deliver(db.session, mail, smtp_settings(tmp_path, server.port)) is False
    db.session.commit()

    db.session.expire_all()
    assert mail.sent_at is None
    assert mail.attempts == 1
    assert mail.last_error == (
        "recipient refused by the mail server: nobody@example.org: 550 5.1.1 No such mailbox here"
    )
    assert server.envelopes == []


def test_a_server_that_never_answers_is_a_timeout_not_a_hang(app: Flask, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        # Listening but never accepting: the connection opens, the greeting never comes.
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings = smtp_settings(tmp_path, silent.getsockname()[1], timeout=0.3)
        mail = queue_invitation()

        assert deliver(db.session, mail, settings) is False

    assert mail.last_error is not None
    assert "no answer" in mail.last_error and "0.3 seconds" in mail.last_error
    assert mail.attempts == 1 and mail.sent_at is None


class Login:
    """Accepts one username and password; anything else is refused."""

    def __call__(
        self, server: SMTPServer, session: SMTPSession, envelope: Envelope, mechanism: str, data
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"portal",
            b"right-password",
        )
        # handled=False: aiosmtpd sends the 535 reply itself; True would leave the client waiting.
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server_with_login() -> Iterator[int]:
    port = free_port()
    # Plain-text AUTH is allowed only because the test server and client share 127.0.0.1;
    # auth_required stays False, so aiosmtpd has nothing to warn about.
    controller = Controller(
        Collector(),
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        authenticator=Login(),
        auth_require_tls=False,
    )
    controller.start()
    yield port
    controller.stop()


def test_smtp_login_is_used_and_a_refused_login_is_recorded_without_the_password(
    app: Flask, tmp_path: Path, smtp_server_with_login: int, caplog: pytest.LogCaptureFixture
) -> None:
    port = smtp_server_with_login
    wrong = smtp_settings(tmp_path, port, username="portal", password="wrong-password")
    right = smtp_settings(tmp_path, port, username="portal", password="right-password")
    mail = queue_invitation()

    with caplog.at_level(logging.DEBUG, logger="app.mail"):
        assert deliver(db.session, mail, wrong) is False
    assert mail.last_error is not None and mail.last_error.startswith("login to mail server")
    assert "wrong-password" not in mail.last_error and "wrong-password" not in caplog.text

    assert deliver(db.session, mail, right) is True
    assert mail.attempts == 2 and mail.sent_at is not None


def test_the_file_backend_writes_a_parseable_eml_and_logs_the_link(
    app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = tmp_path / "not-yet" / "outbox"
    settings = MailSettings(backend="file", sender=SENDER, outbox_dir=outbox)
    mail = queue_invitation(to="focal.point@example.org")
    now = datetime(2025, 3, 1, 9, 30, 5, tzinfo=UTC)

    with caplog.at_level(logging.INFO, logger="app.mail"):
        assert deliver(db.session, mail, settings, now=now) is True
    db.session.commit()

    files = sorted(outbox.iterdir())
    assert [file.name for file in files] == [f"20250301T093005Z-{mail.id}.eml"]
    saved = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert saved["To"] == "focal.point@example.org"
    assert saved["From"] == SENDER
    assert saved["Subject"] == f"{VIETNAMESE} – UNTOC"
    assert saved["Date"] and saved["Message-ID"]
    assert THAI in saved.get_content()

    [record] = [r for r in caplog.records if r.name == "app.mail"]
    assert record.levelno == logging.INFO
    line = record.getMessage()
    # The sentence's full stop is not part of the link a developer clicks.
    assert f"links: {LINK} |" in line
    assert "focal.point@example.org" in line and VIETNAMESE in line
    assert THAI not in line  # the body stays out of the log, except its links
    assert mail.sent_at == now and mail.attempts == 1


def test_an_unwritable_outbox_is_a_recorded_failure(app: Flask, tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the folder should be")
    settings = MailSettings(backend="file", sender=SENDER, outbox_dir=blocker)
    mail = queue_invitation()

    assert deliver(db.session, mail, settings) is False
    assert mail.last_error is not None and mail.last_error.startswith("cannot write to the outbox")
    assert mail.attempts == 1 and mail.sent_at is None


def test_settings_default_to_the_file_backend_in_the_instance_folder() -> None:
    settings = MailSettings.from_config({}, "/srv/portal/instance")

    assert settings.backend == "file"
    assert settings.outbox_dir == Path("/srv/portal/instance/outbox")
    assert settings.sender == SENDER
    assert (settings.host, settings.port) == ("localhost", 25)
    assert settings.username is None and settings.password is None
    assert not settings.use_starttls and not settings.use_ssl
    assert settings.timeout == 10.0


def test_settings_read_smtp_values_including_strings_from_the_environment() -> None:
    settings = MailSettings.from_config(
        {
            "MAIL_BACKEND": "SMTP",
            "MAIL_DEFAULT_SENDER": "Portal <portal@rso.invalid>",
            "MAIL_OUTBOX_DIR": "/srv/portal/mail-outbox",
            "MAIL_SERVER": "smtp.rso.invalid",
            "MAIL_USE_TLS": "true",
            "MAIL_USERNAME": "portal",
            "MAIL_PASSWORD": "hunter2-hunter2",
            "MAIL_TIMEOUT": "2.5",
        },
        "/srv/portal/instance",
    )

    assert settings.backend == "smtp"
    assert settings.outbox_dir == Path("/srv/portal/mail-outbox")
    assert (settings.host, settings.port) == ("smtp.rso.invalid", 587)
    assert settings.use_starttls and not settings.use_ssl
    assert settings.timeout == 2.5
    assert "hunter2" not in repr(settings)
    assert MailSettings.from_config({"MAIL_USE_SSL": True}, "/x").port == 465
    assert MailSettings.from_config({"MAIL_PORT": "2525"}, "/x").port == 2525


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"MAIL_BACKEND": "sendgrid"}, "unknown mail backend 'sendgrid'"),
        ({"MAIL_USE_SSL": True, "MAIL_USE_TLS": True}, "exclude each other"),
        ({"MAIL_PORT": "twenty-five"}, "MAIL_PORT must be a number"),
        ({"MAIL_USE_TLS": "perhaps"}, "MAIL_USE_TLS must be true or false"),
    ],
)
def test_bad_mail_settings_are_a_clear_error(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MailSettings.from_config(config, "/srv/portal/instance")


def test_retry_skips_sent_messages_and_those_out_of_attempts(
    app: Flask, tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server()
    settings = smtp_settings(tmp_path, server.port)
    already_sent = queue_invitation(to="sent@example.org")
    already_sent.sent_at = datetime(2025, 1, 1, tzinfo=UTC)
    already_sent.attempts = 1
    given_up = queue_invitation(to="given-up@example.org")
    given_up.attempts = 5
    second = queue_invitation(to="second@example.org")
    first = queue_invitation(to="first@example.org")
    first.created_at = second.created_at - timedelta(minutes=5)
    first.attempts = 4
    db.session.commit()

    assert retry_unsent(db.session, settings, max_attempts=5) == (2, 0)
    db.session.commit()

    assert [envelope.rcpt_tos for envelope in server.envelopes] == [
        ["first@example.org"],  # oldest first
        ["second@example.org"],
    ]
    db.session.expire_all()
    assert (already_sent.attempts, given_up.attempts, first.attempts) == (1, 5, 5)
    assert given_up.sent_at is None
    assert retry_unsent(db.session, settings) == (0, 0)


def test_retry_keeps_going_past_a_refused_recipient_but_stops_at_a_dead_server(
    app: Flask, tmp_path: Path, smtp_server: StartServer
) -> None:
    server = smtp_server(refuse_recipients="550 5.1.1 No such mailbox here")
    for number in range(3):
        queue_invitation(to=f"learner{number}@example.org")

    assert retry_unsent(db.session, smtp_settings(tmp_path, server.port)) == (0, 3)

    # A server that cannot be reached would fail every message alike: one try, then stop.
    assert retry_unsent(db.session, smtp_settings(tmp_path, free_port())) == (0, 1)
    attempts = db.session.scalars(select(OutgoingMail.attempts).order_by(OutgoingMail.id)).all()
    assert attempts == [2, 1, 1]


def test_retry_honours_the_limit(app: Flask, tmp_path: Path) -> None:
    settings = MailSettings(backend="file", sender=SENDER, outbox_dir=tmp_path / "outbox")
    for number in range(3):
        queue_invitation(to=f"learner{number}@example.org")

    assert retry_unsent(db.session, settings, limit=2) == (2, 0)
    assert retry_unsent(db.session, settings, limit=2) == (1, 0)


def test_delivering_a_sent_message_again_sends_nothing(app: Flask, tmp_path: Path) -> None:
    settings = MailSettings(backend="file", sender=SENDER, outbox_dir=tmp_path / "outbox")
    mail = queue_invitation()
    assert deliver(db.session, mail, settings) is True

    assert deliver(db.session, mail, settings) is True
    assert mail.attempts == 1
    assert len(list(settings.outbox_dir.iterdir())) == 1


@pytest.mark.parametrize(
    ("to", "subject", "problem"),
    [
        ("learner@example.org\r\nBcc: everyone@example.org", "Hello", "one line"),
        ("learner@example.org", "Hello\nBcc: everyone@example.org", "one line"),
        ("not an address", "Hello", "not an e-mail address"),
        ("Somchai <learner@example.org>", "Hello", "not an e-mail address"),
        ("learner@example.org", "", "subject is empty"),
        ("learner@example.org", "x" * 201, "longer than 200"),
    ],
)
def test_a_message_that_cannot_be_sent_safely_is_refused_and_nothing_is_stored(
    app: Flask, to: str, subject: str, problem: str
) -> None:
    with pytest.raises(InvalidMail, match=problem):
        queue_mail(db.session, to=to, subject=subject, body=BODY, purpose="invitation")
    assert db.session.scalars(select(OutgoingMail)).all() == []


def test_the_message_keeps_names_in_any_script_and_one_id_across_retries(app: Flask) -> None:
    mail = queue_invitation(subject=f"ใบรับรอง / شهادة / {VIETNAMESE}")
    sender = "บอท พอร์ทัล <no-reply@rso-learning.invalid>"

    first = build_message(mail, sender)
    again = build_message(mail, sender)

    parsed = email.message_from_bytes(first.as_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == f"ใบรับรอง / شهادة / {VIETNAMESE}"
    assert parsed["From"].addresses[0].display_name == "บอท พอร์ทัล"
    assert first.as_bytes().isascii()
    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"].endswith("@rso-learning.invalid>")
