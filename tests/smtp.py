"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, keeping every message it receives."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, NamedTuple

import pytest
from aiosmtpd.controller import Controller

from foundation.settings import Settings


class Mailbox(NamedTuple):
    host: str
    port: int
    messages: list[EmailMessage]


class _Collector:
    """aiosmtpd handler: parse and keep each message (runs on the server's thread)."""

    def __init__(self, messages: list[EmailMessage]) -> None:
        self.messages = messages

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


# A liveness bound for the server's start-up check (aiosmtpd's default is 5 s, which a
# busy machine can miss).
SMTP_READY_SECONDS = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 and the list its messages arrive in."""
    messages: list[EmailMessage] = []
    controller = Controller(_Collector(messages), hostname="127.0.0.1", port=_free_port(),
                            ready_timeout=SMTP_READY_SECONDS)  # fmt: skip
    controller.start()
    try:
        yield Mailbox("127.0.0.1", controller.port, messages)
    finally:
        controller.stop()


def with_smtp(settings: Settings, mailbox: Mailbox) -> Settings:
    """The same settings, sending mail to the test server (plain SMTP, no STARTTLS)."""
    return settings.model_copy(
        update={"smtp_host": mailbox.host, "smtp_port": mailbox.port, "smtp_starttls": False}
    )


def recovery_code(message: EmailMessage) -> str:
    """The code in a recovery email."""
    body = message.get_content()
    found = re.search(r"enter this code in the app: (\S+)", body)
    assert found, body
    return found[1]
