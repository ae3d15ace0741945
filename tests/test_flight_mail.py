"""Flight news by email, whoever writes the change: a trigger on ``flights`` queues one
message per recipient of every confirmed booking whose owner wants email, in the
writer's transaction; delays and gate changes coalesce within a window."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from aiosmtpd.controller import Controller

from adapters import mail as mailer
from foundation.settings import Settings
from server.app import create_app
from tests.mail_helpers import (
    ControlledSmtp,
    a_flight,
    arrived,
    book_in_sql,
    controlled_smtp,
    outbox_settled,
    parts,
    sent_recorded,
)
from tests.smtp import SMTP_READY_SECONDS, Mailbox, with_smtp
from tests.waiting import eventually

_ = controlled_smtp  # the fixture, from its helper module


def _settings(settings: Settings, mailbox: Mailbox, window: int) -> Settings:
    return with_smtp(settings, mailbox).model_copy(
        update={"mail_flight_notice_window_seconds": window}
    )


async def _client(aiohttp_client: Any, settings: Settings) -> TestClient:
    client: TestClient = await aiohttp_client(create_app(settings))
    return client


async def _delay(db: asyncpg.Connection, flight: int, minutes: int) -> None:
    await db.execute(
        "UPDATE flights SET estimated_departure = scheduled_departure"
        " + make_interval(mins => $2), estimated_arrival = scheduled_arrival"
        " + make_interval(mins => $2) WHERE id = $1",
        flight, minutes,
    )  # fmt: skip


async def _pending(db: asyncpg.Connection) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT recipient, template, next_attempt_at FROM mail_outbox"
        " WHERE sent_at IS NULL ORDER BY recipient"
    )


async def test_a_delay_written_in_sql_mails_each_passenger_once(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection,
    controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, _server = controlled_smtp
    await _client(aiohttp_client, _settings(settings, mailbox, window=0))
    flight = await a_flight(db)
    other_flight = await a_flight(db, number=200)
    # Three passengers: two with addresses of their own, one reached at the contact's.
    booked = await book_in_sql(db, flight, locator="DLY001", language="fr", passengers=[
        ("Ada", "ada@example.com"), ("Bob", "Bob@Example.com"), ("Cy", None),
    ])  # fmt: skip
    # Not told: an owner who wants no email, a cancelled booking, another flight.
    await book_in_sql(db, flight, locator="DLY002", passengers=[("Dee", "dee@example.com")],
                      channels=("push",))  # fmt: skip
    cancelled = await book_in_sql(db, flight, locator="DLY003",
                                  passengers=[("Eve", "eve@example.com")])  # fmt: skip
    await db.execute(
        "UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = $1",
        cancelled.booking,
    )
    await book_in_sql(db, other_flight, locator="DLY004",
                      passengers=[("Fay", "fay@example.com")])  # fmt: skip

    await _delay(db, flight, 10)  # under the threshold: not news
    assert await _pending(db) == []
    await _delay(db, flight, 45)

    messages = await arrived(mailbox, 3)
    assert sorted(str(m["To"]) for m in messages) == [
        "ada@example.com", "bob@example.com", "contact@example.com",
    ]  # fmt: skip
    assert booked.passengers == ("ada@example.com", "bob@example.com", "contact@example.com")
    departure = await db.fetchval(
        "SELECT estimated_departure AT TIME ZONE 'America/New_York' FROM flights WHERE id = $1",
        flight,
    )
    new_time = departure.strftime("%H:%M")
    for message in messages:
        assert message["Subject"] == f"SB100 est retardé : nouveau départ {new_time}"
        body = parts(message)
        assert "Nouveau départ" in body["text"]
        assert new_time in body["html"]
    await outbox_settled(db)
    assert len(mailbox.messages) == 3


async def test_five_delays_within_the_window_send_one_email_with_the_latest_time(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection,
    controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, _server = controlled_smtp
    await _client(aiohttp_client, _settings(settings, mailbox, window=3600))
    flight = await a_flight(db)
    await book_in_sql(db, flight, locator="DLY010", passengers=[("Ada", "ada@example.com")])
    for minutes in (20, 35, 50, 65, 80):
        await _delay(db, flight, minutes)
    [row] = await _pending(db)
    opened = await db.fetchval("SELECT opened_at FROM flight_notice_windows")
    assert (row["recipient"], row["template"]) == ("ada@example.com", "flight_delay")
    assert (row["next_attempt_at"] - opened).total_seconds() == 3600  # due as the window ends

    # The window ends (time passes): the one message goes out, with the fifth time.
    await db.execute("UPDATE flight_notice_windows SET opened_at = opened_at - interval '1 hour'")
    await db.execute("UPDATE mail_outbox SET next_attempt_at = now()")
    [message] = await arrived(mailbox, 1)
    await sent_recorded(db, 1)
    latest = await db.fetchval(
        "SELECT estimated_departure AT TIME ZONE 'America/New_York' FROM flights WHERE id = $1",
        flight,
    )
    assert message["Subject"] == f"SB100 is delayed: new departure {latest:%-I:%M\u202f%p}"
    # A delay after the window is news again, in a window of its own.
    await _delay(db, flight, 95)
    assert len(await _pending(db)) == 1
    assert await db.fetchval("SELECT count(*) FROM mail_outbox") == 2


async def test_a_delay_taken_back_within_the_window_is_not_sent(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection,
    controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, server = controlled_smtp
    await _client(aiohttp_client, _settings(settings, mailbox, window=3600))
    flight = await a_flight(db)
    await book_in_sql(db, flight, locator="DLY020", passengers=[("Ada", "ada@example.com")])
    await _delay(db, flight, 30)
    await _delay(db, flight, 5)
    await db.execute("UPDATE mail_outbox SET next_attempt_at = now()")

    async def dropped() -> bool:
        return bool(await db.fetchval(
            "SELECT last_error = 'no longer applies' FROM mail_outbox"
        ))  # fmt: skip

    await eventually(dropped, what="the delay mail dropped")
    assert server.recipients_seen == []
    assert mailbox.messages == []


async def test_gate_change_cancellation_and_diversion_each_mail_once(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection,
    controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, _server = controlled_smtp
    await _client(aiohttp_client, _settings(settings, mailbox, window=0))
    gate_flight = await a_flight(db, number=300)
    cancelled_flight = await a_flight(db, number=301)
    diverted_flight = await a_flight(db, number=302)
    for n, flight in enumerate((gate_flight, cancelled_flight, diverted_flight)):
        await book_in_sql(db, flight, locator=f"NEWS0{n}",
                          passengers=[("Ada", "ada@example.com")])  # fmt: skip
    await db.execute("UPDATE flights SET departure_gate = 'B22' WHERE id = $1", gate_flight)
    await db.execute("UPDATE flights SET status = 'cancelled' WHERE id = $1", cancelled_flight)
    await db.execute(
        "UPDATE flights SET status = 'diverted', destination = 'BOS' WHERE id = $1",
        diverted_flight,
    )
    messages = await arrived(mailbox, 3)
    subjects = sorted(str(m["Subject"]) for m in messages)
    assert subjects == [
        "SB300 now departs from gate B22",
        "SB301 is cancelled",
        "SB302 has been diverted",
    ]
    cancellation = next(m for m in messages if m["Subject"] == "SB301 is cancelled")
    assert "change to another flight at no cost" in parts(cancellation)["text"]
    diversion = next(m for m in messages if m["Subject"] == "SB302 has been diverted")
    assert "diverted to Boston" in parts(diversion)["text"]
    await outbox_settled(db)
    assert len(mailbox.messages) == 3


async def test_smtp_down_then_up_sends_everything_once(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(mailer, "RETRY_BASE_SECONDS", 0.05)
    monkeypatch.setattr(mailer, "RETRY_MAX_SECONDS", 0.05)
    with contextlib.closing(socket.socket()) as reserved:
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
        down = Mailbox("127.0.0.1", port, [])
        app_settings = _settings(settings, down, window=0).model_copy(
            update={"mail_max_attempts": 1_000_000}
        )
        await _client(aiohttp_client, app_settings)
        flights = [await a_flight(db, number=400 + n) for n in range(3)]
        for n, flight in enumerate(flights):
            await book_in_sql(db, flight, locator=f"DOWN0{n}", passengers=[
                ("Ada", "ada@example.com"), ("Bob", "bob@example.com"),
            ])  # fmt: skip
            await db.execute("UPDATE flights SET departure_gate = 'C9' WHERE id = $1", flight)

        async def all_failed_twice() -> bool:
            return bool(await db.fetchval(
                "SELECT count(*) = 6 AND bool_and(attempts >= 2 AND sent_at IS NULL)"
                " FROM mail_outbox"
            ))  # fmt: skip

        await eventually(all_failed_twice, what="every message retried")
        handler = ControlledSmtp()
        controller = Controller(handler, hostname="127.0.0.1", port=port,
                                ready_timeout=SMTP_READY_SECONDS)  # fmt: skip
        reserved.close()
        controller.start()
    try:
        up = Mailbox("127.0.0.1", port, handler.messages)
        messages = await arrived(up, 6)
        await outbox_settled(db)
        await sent_recorded(db, 6)
        assert len(messages) == 6
        assert len({str(m["Message-ID"]) for m in messages}) == 6
        sent = await db.fetchval("SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL")
        assert sent == 6
    finally:
        controller.stop()
