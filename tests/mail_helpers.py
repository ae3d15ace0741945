"""Shared steps of the trip-mail tests: a booked flight made in SQL, an SMTP server the
test controls (refuses some recipients, holds messages), and a message taken apart
with the ``email`` package."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from tests.factories import add_brands, add_flight, add_world
from tests.smtp import SMTP_READY_SECONDS, Mailbox
from tests.waiting import eventually


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ControlledSmtp:
    """aiosmtpd handler: refuses ``refused`` recipients with a 550; while ``hold`` is
    clear it keeps the DATA answer back. A message counts as delivered only once its
    250 answer could go out on an open connection: a client gone before that never
    learnt the message was taken, so (as the client must) it will send it again;
    ``abandoned`` is set when that happens."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()
        self.recipients_seen: list[str] = []
        self.data_started = threading.Event()
        self.sender_port: int | None = None  # the client port of the latest DATA
        self.abandoned = threading.Event()
        self.hold = threading.Event()
        self.hold.set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.recipients_seen.append(address)
        if address.lower() in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sender_port = int(session.peer[1])
        self.data_started.set()
        try:
            # Polls: the hold is a thread's event and a vanished client a transport's
            # state; neither can be awaited from here.
            while not self.hold.is_set() and not _gone(server):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:  # aiosmtpd ends the session of a vanished client
            self.abandoned.set()
            raise
        if _gone(server):
            self.abandoned.set()
            return "421 client gone"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


def _gone(server: Any) -> bool:
    transport = getattr(server, "transport", None)
    return transport is None or transport.is_closing()


@pytest.fixture
def controlled_smtp() -> Iterator[tuple[Mailbox, ControlledSmtp]]:
    """An SMTP server the test steers, and its handler."""
    handler = ControlledSmtp()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            ready_timeout=SMTP_READY_SECONDS)  # fmt: skip
    controller.start()
    try:
        yield Mailbox("127.0.0.1", controller.port, handler.messages), handler
    finally:
        handler.hold.set()
        controller.stop()


async def arrived(mailbox: Mailbox, count: int, within: float = 30.0) -> list[EmailMessage]:
    """The mailbox's messages once at least ``count`` have arrived."""

    async def enough() -> bool:
        return len(mailbox.messages) >= count

    await eventually(enough, within, what=f"{count} messages")
    return mailbox.messages


async def sent_recorded(db: asyncpg.Connection, count: int, within: float = 30.0) -> None:
    """The outbox has recorded ``count`` messages as sent. A message reaches the mailbox
    before its sender records it: the sender records a pass's messages once they are all
    sent."""

    async def recorded() -> bool:
        sent = await db.fetchval("SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL")
        return bool(sent >= count)

    await eventually(recorded, within, what=f"{count} messages recorded as sent")


async def outbox_settled(db: asyncpg.Connection, within: float = 30.0) -> None:
    """Every message due now has been sent or given up."""

    async def settled() -> bool:
        return not await db.fetchval(
            "SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL"
            " AND next_attempt_at IS NOT NULL AND next_attempt_at <= now() + interval '1 s'"
        )

    await eventually(settled, within, what="outbox settled")


@dataclass(frozen=True)
class BookedFlight:
    flight: int
    booking: uuid.UUID
    owner: uuid.UUID
    passengers: tuple[str, ...]  # their addresses


async def book_in_sql(
    db: asyncpg.Connection,
    flight: int,
    *,
    locator: str,
    passengers: list[tuple[str, str | None]],
    contact: str = "contact@example.com",
    language: str = "en",
    channels: tuple[str, ...] = ("email",),
) -> BookedFlight:
    """A confirmed booking of ``flight`` written straight to the tables: (given name,
    email or None) per passenger, the owner's language and channels."""
    owner = uuid.uuid4()
    await db.execute("INSERT INTO profiles (user_id) VALUES ($1)", owner)
    await db.execute(
        "INSERT INTO user_preferences (user_id, language, notification_channels)"
        " VALUES ($1, $2, $3)",
        owner, language, list(channels),
    )  # fmt: skip
    booking = await db.fetchval(
        "INSERT INTO bookings (record_locator, user_id, total_minor, currency, contact_email)"
        " VALUES ($1, $2, 45000, 'USD', $3) RETURNING id",
        locator, owner, contact,
    )  # fmt: skip
    for n, (given, email) in enumerate(passengers, start=1):
        await db.execute(
            "INSERT INTO passengers (booking_id, passenger_no, passenger_type, given_name,"
            " family_name, date_of_birth, email) VALUES ($1, $2, 'adult', $3, 'Traveller',"
            " '1980-01-01', $4)",
            booking, n, given, email,
        )  # fmt: skip
    await db.execute(
        "INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin,"
        " fare_brand) VALUES ($1, 1, 1, $2, 'economy', 'SB_ECO_LIGHT')",
        booking, flight,
    )  # fmt: skip
    addresses = tuple(sorted({(email or contact).lower() for _, email in passengers}))
    return BookedFlight(flight, booking, owner, addresses)


async def a_flight(db: asyncpg.Connection, *, hours: float = 30.0, number: int = 100) -> int:
    """A JFK-LHR flight departing in ``hours``, at gate A1 (in a world with SB's brands)."""
    if not await db.fetchval("SELECT count(*) FROM airlines"):
        await add_world(db)
        await add_brands(db, "SB")
    departure = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=hours)
    return await add_flight(db, origin="JFK", destination="LHR", number=number,
                            departure=departure, departure_gate="A1")  # fmt: skip


def parts(message: EmailMessage) -> dict[str, Any]:
    """The text and HTML bodies and the attachments (name -> bytes) of a message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None, message.get_content_type()
    assert html is not None, message.get_content_type()
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    return {"text": text.get_content(), "html": html.get_content(), "attachments": attachments}
