"""A real SMTP server on loopback (aiosmtpd) for the tests that send mail."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope
from aiosmtpd.smtp import Session as SMTPSession


class Collector:
    """An aiosmtpd handler that keeps every message it accepts, or refuses every recipient."""

    def __init__(self, refuse_recipients: str | None = None) -> None:
        self.refuse_recipients = refuse_recipients
        self.envelopes: list[Envelope] = []
        self.port = 0  # set once its server listens

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: SMTPSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.refuse_recipients:
            return self.refuse_recipients
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: SMTPServer, session: SMTPSession, envelope: Envelope
    ) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(envelope.content, policy=email.policy.default)
            for envelope in self.envelopes
        ]


def free_port() -> int:
    """A port nothing listens on: Controller cannot bind port 0 and report what it got."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


StartServer = Callable[..., Collector]


@pytest.fixture
def smtp_server() -> Iterator[StartServer]:
    """Starts a real SMTP server on 127.0.0.1 on request; stops every one after the test."""
    controllers: list[Controller] = []

    def start(port: int | None = None, refuse_recipients: str | None = None) -> Collector:
        handler = Collector(refuse_recipients)
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port or free_port(),
            # Given a name, the server does not ask DNS for this machine's.
            server_hostname="localhost",
        )
        controller.start()
        controllers.append(controller)
        handler.port = controller.port
        return handler

    yield start
    for controller in controllers:
        controller.stop()
