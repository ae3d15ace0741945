"""Auth mail goes through the outbox: /recover answers alike for any address and never
waits on SMTP; a background sender delivers, retries while the SMTP server is down,
and two senders never deliver one message twice."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from adapters import mail as mailer
from adapters.mail import Mailer, MailOutbox, retry_delay
from domain.identity.accounts import passwords
from foundation.database import create_pool
from foundation.settings import Settings
from server.app import create_app
from tests import smtp
from tests.smtp import SMTP_READY_SECONDS, Mailbox, recovery_code, with_smtp
from tests.waiting import eventually

smtp_server = smtp.smtp_server  # the fixture, from its helper module

PASSWORD = "correct horse battery"


async def delivered(mailbox: Mailbox, count: int = 1, within: float = 10.0) -> list[EmailMessage]:
    """The mailbox's messages once ``count`` have arrived (the outbox sends in the
    background)."""

    async def arrived() -> bool:
        return len(mailbox.messages) >= count

    await eventually(arrived, within)
    return mailbox.messages


async def nothing_more_arrives(mailbox: Mailbox, count: int, wait: float = 0.5) -> None:
    """Asserts the mailbox still holds ``count`` messages after a short wait."""
    with pytest.raises(AssertionError, match="not met in time"):
        await delivered(mailbox, count + 1, within=wait)
    assert len(mailbox.messages) == count


async def outbox_row(
    db: asyncpg.Connection, ready: Callable[[asyncpg.Record], bool]
) -> asyncpg.Record:
    """The one outbox row, once ``ready`` holds for it (the sender works in the background)."""
    found: list[asyncpg.Record] = []

    async def is_ready() -> bool:
        row = await db.fetchrow("SELECT * FROM mail_outbox")
        found[:] = [row] if row is not None and ready(row) else []
        return bool(found)

    await eventually(is_ready)
    return found[0]


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id at its cheapest, for speed."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))


async def _sign_up(client: TestClient, email: str = "ada@example.com") -> None:
    response = await client.post("/auth/v1/signup", json={"email": email, "password": PASSWORD})
    assert response.status == 200, await response.text()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Keep:
    """aiosmtpd handler keeping every message; while ``hold`` is clear, it does not answer."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.hold = threading.Event()
        self.hold.set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.get_running_loop().run_in_executor(None, self.hold.wait, 10)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


@pytest.fixture
async def mail_client(aiohttp_client: Any, settings: Settings, smtp_server: Mailbox) -> TestClient:
    """Skybound sending its mail to the test SMTP server."""
    client: TestClient = await aiohttp_client(create_app(with_smtp(settings, smtp_server)))
    return client


async def test_recover_answers_the_same_for_known_and_unknown_addresses(
    mail_client: TestClient, smtp_server: Mailbox, db: asyncpg.Connection
) -> None:
    await _sign_up(mail_client)
    known = await mail_client.post("/auth/v1/recover", json={"email": "ada@example.com"})
    unknown = await mail_client.post("/auth/v1/recover", json={"email": "bob@example.com"})
    assert known.status == unknown.status == 200
    assert await known.read() == await unknown.read() == b"{}"
    assert known.headers["Content-Type"] == unknown.headers["Content-Type"]
    [message] = await delivered(smtp_server)
    assert message["To"] == "ada@example.com"
    assert recovery_code(message)
    # The unknown address wrote nothing; the known one's row is sent and its body gone.
    row = await outbox_row(db, lambda row: row["sent_at"] is not None)
    assert (row["recipient"], row["attempts"], row["body"]) == ("ada@example.com", 1, None)
    assert await db.fetchval("SELECT count(*) FROM mail_outbox") == 1
    await nothing_more_arrives(smtp_server, 1)


async def test_recover_answers_while_the_smtp_server_has_not(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection
) -> None:
    """The request does not wait for SMTP: it is answered while the server is still holding
    the message, which is then delivered."""
    handler = _Keep()
    handler.hold.clear()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(),
                            ready_timeout=SMTP_READY_SECONDS)  # fmt: skip
    controller.start()
    try:
        mailbox = Mailbox("127.0.0.1", controller.port, handler.messages)
        client: TestClient = await aiohttp_client(create_app(with_smtp(settings, mailbox)))
        await _sign_up(client)
        response = await asyncio.wait_for(
            client.post("/auth/v1/recover", json={"email": "ada@example.com"}), 10
        )
        assert (response.status, await response.json()) == (200, {})
        assert handler.messages == []
        handler.hold.set()
        [message] = await delivered(mailbox)
        assert message["To"] == "ada@example.com"
    finally:
        handler.hold.set()
        controller.stop()


async def test_mail_waits_in_the_outbox_while_smtp_is_down_and_is_sent_once_it_is_up(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Waits for events (a failed retry, a delivery), not for the retry schedule: retries
    come every 50 ms and are never given up, however late the test gets to each step."""
    monkeypatch.setattr(mailer, "RETRY_BASE_SECONDS", 0.05)
    monkeypatch.setattr(mailer, "RETRY_MAX_SECONDS", 0.05)
    monkeypatch.setattr(mailer, "MAX_ATTEMPTS", 1_000_000)
    # Bound but not listening: connections are refused, and no one else takes the port
    # before the SMTP server does.
    with contextlib.closing(socket.socket()) as reserved:
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
        down = Mailbox("127.0.0.1", port, [])
        client: TestClient = await aiohttp_client(create_app(with_smtp(settings, down)))
        await _sign_up(client)
        response = await client.post("/auth/v1/recover", json={"email": "ada@example.com"})
        assert (response.status, await response.json()) == (200, {})

        row = await outbox_row(db, lambda r: r["attempts"] >= 2 and r["last_error"] is not None)
        assert row["sent_at"] is None
        assert row["body"] is not None  # kept for the next attempt
        assert str(port) in row["last_error"]

        handler = _Keep()
        controller = Controller(handler, hostname="127.0.0.1", port=port,
                                ready_timeout=SMTP_READY_SECONDS)  # fmt: skip
        reserved.close()
        controller.start()
    try:
        [message] = await delivered(Mailbox("127.0.0.1", port, handler.messages))
        assert recovery_code(message)
        sent = await outbox_row(db, lambda row: row["sent_at"] is not None)
        # The row above may have been read while a further attempt was already claimed
        # (claiming counts it); that attempt can be the one that delivers.
        assert sent["attempts"] >= row["attempts"] >= 2
        assert (sent["body"], sent["last_error"]) == (None, None)
    finally:
        controller.stop()


def test_retries_back_off_exponentially_up_to_a_cap() -> None:
    delays = [retry_delay(attempts) for attempts in range(1, 10)]
    assert delays[:4] == [10.0, 20.0, 40.0, 80.0]
    assert delays[-1] == mailer.RETRY_MAX_SECONDS
    assert delays == sorted(delays)


@pytest.fixture
async def two_pools(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """Two request pools on this test's database, as two workers would have."""
    first = await create_pool(database_url, min_size=1, max_size=2)
    second = await create_pool(database_url, min_size=1, max_size=2)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def test_two_senders_never_send_one_message_twice(
    two_pools: tuple[asyncpg.Pool, asyncpg.Pool], settings: Settings, smtp_server: Mailbox,
    db: asyncpg.Connection,
) -> None:  # fmt: skip
    sender_settings = with_smtp(settings, smtp_server)
    senders = [MailOutbox(pool, Mailer(sender_settings), batch_size=5) for pool in two_pools]
    recipients = [f"traveller{n}@example.com" for n in range(40)]
    async with two_pools[0].acquire() as conn, conn.transaction():
        for recipient in recipients:
            assert await senders[0].enqueue(conn, recipient, "Hello", "Body")
    claimed = [0, 0]
    while True:
        counts = await asyncio.gather(*(sender.send_due() for sender in senders))
        claimed = [total + n for total, n in zip(claimed, counts, strict=True)]
        if not any(counts):
            break
    assert sum(claimed) == 40
    assert all(claimed)  # both senders took part
    messages = await delivered(smtp_server, 40)
    assert sorted(str(m["To"]) for m in messages) == sorted(recipients)
    await nothing_more_arrives(smtp_server, 40)
    attempts = await db.fetch("SELECT attempts, sent_at FROM mail_outbox")
    assert all(row["attempts"] == 1 and row["sent_at"] is not None for row in attempts)


async def test_without_smtp_messages_are_given_up_and_their_bodies_dropped(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await _sign_up(client)
    response = await client.post("/auth/v1/recover", json={"email": "ada@example.com"})
    assert (response.status, await response.json()) == (200, {})

    row = await outbox_row(db, lambda row: row["last_error"] is not None)
    assert (row["sent_at"], row["next_attempt_at"], row["body"]) == (None, None, None)
    assert row["last_error"] == "mail is not configured"
