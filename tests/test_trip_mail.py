"""Booking mail: written to the outbox in the booking's own transaction, rendered and
sent by the outbox's sender: HTML with a plain-text alternative in the traveller's
language, the e-ticket receipts as PDFs and a calendar entry per flight."""

from __future__ import annotations

import io
import uuid
from datetime import UTC
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import pypdfium2
from aiohttp.test_utils import TestClient
from babel.dates import format_date, get_timezone_name
from babel.numbers import format_currency
from icalendar import Calendar

from foundation.settings import Settings
from server.app import create_app
from tests.booking_helpers import DECLINED_CARD, bearer, book, booking_body, offer_for
from tests.mail_helpers import ControlledSmtp, arrived, controlled_smtp, outbox_settled, parts
from tests.search_world import DAY, LONDON, NEW_YORK, at
from tests.smtp import Mailbox, with_smtp
from tests.waiting import eventually

_ = controlled_smtp  # the fixture, from its helper module


async def _mail_client(aiohttp_client: Any, settings: Settings, mailbox: Mailbox) -> TestClient:
    client: TestClient = await aiohttp_client(create_app(with_smtp(settings, mailbox)))
    return client


async def _prefer(db: asyncpg.Connection, user: uuid.UUID, language: str) -> None:
    await db.execute("INSERT INTO profiles (user_id) VALUES ($1)", user)
    await db.execute(
        "INSERT INTO user_preferences (user_id, language) VALUES ($1, $2)", user, language
    )


def _pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(io.BytesIO(data))
    try:
        return "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


async def test_a_booking_sends_one_confirmation_with_receipts_and_calendar_entries(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection,
    search_world: dict[str, int], controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, _server = controlled_smtp
    client = await _mail_client(aiohttp_client, settings, mailbox)
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client)))
    [message] = await arrived(mailbox, 1)

    assert message["To"] == "ada@example.com"
    assert message["Subject"] == f"Your booking {booking['record_locator']} is confirmed"
    assert message["Content-Language"] == "en"
    outbox_id = await db.fetchval("SELECT id FROM mail_outbox")
    assert message["Message-ID"] == f"<outbox-{outbox_id}@skybound>"
    assert message.get_content_type() == "multipart/mixed"
    alternative = message.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == [
        "text/plain", "text/html",
    ]  # fmt: skip
    body = parts(message)
    # Local times, with the zone named: 18:00 in New York, 06:00 next morning in London.
    assert "6:00\u202fPM (Eastern Standard Time)" in body["text"]
    assert "London (LHR)" in body["text"]
    assert "6:00\u202fAM (Greenwich Mean Time)" in body["text"]
    assert (
        format_currency(booking["total"]["amount_minor"] / 100, "USD", locale="en")
        in (body["text"])
    )
    assert "<html" in body["html"]
    assert "Ada Lovelace" in body["html"]

    [ticket] = [t["ticket_number"] for p in booking["passengers"] for t in p["tickets"]]
    attachments = body["attachments"]
    assert set(attachments) == {f"e-ticket-{ticket}.pdf", "SB1-JFK-LHR.ics"}
    receipt = _pdf_text(attachments[f"e-ticket-{ticket}.pdf"])
    assert ticket in receipt
    assert booking["record_locator"] in receipt

    calendar = Calendar.from_ical(attachments["SB1-JFK-LHR.ics"])
    [event] = calendar.walk("VEVENT")
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    departure = at(DAY, "18:00", NEW_YORK)
    assert start == departure
    assert start.astimezone(UTC) == departure.astimezone(UTC)
    assert str(start.tzinfo) == "America/New_York"
    assert start.hour == 18
    arrival = departure.astimezone(LONDON) + (end - start)
    assert end.astimezone(LONDON) == arrival
    assert str(end.tzinfo) == "Europe/London"
    assert (end - start).total_seconds() == 420 * 60
    assert "SB1 JFK → LHR" in str(event["summary"])
    assert [c.name for c in calendar.walk("VTIMEZONE")]  # the zones travel with the entry

    await outbox_settled(db)
    assert len(mailbox.messages) == 1


async def test_confirmation_speaks_the_owners_language_with_its_dates_and_money(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection,
    search_world: dict[str, int], controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, _server = controlled_smtp
    client = await _mail_client(aiohttp_client, settings, mailbox)
    for n, language in enumerate(("fr", "es", "pt-BR")):
        user = uuid.uuid4()
        await _prefer(db, user, language)
        await book(client, user, booking_body(await offer_for(client)))
        await arrived(mailbox, n + 1)
    french, spanish, portuguese = mailbox.messages
    departure = at(DAY, "18:00", NEW_YORK)

    assert french["Content-Language"] == "fr"
    assert french["Subject"].startswith("Votre réservation ")
    text = parts(french)["text"]
    assert format_date(departure, format="full", locale="fr") in text
    assert get_timezone_name(departure, width="long", locale="fr") in text
    assert "Total payé" in text
    assert "$US" in text

    assert spanish["Subject"].startswith("Su reserva ")
    assert format_date(departure, format="full", locale="es") in parts(spanish)["text"]
    # A language without translations falls back to English.
    assert portuguese["Content-Language"] == "en"
    assert portuguese["Subject"].startswith("Your booking ")


async def test_the_email_is_written_with_the_booking_and_not_without_it(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    """Without SMTP: the row is there the moment the booking is, a replayed request
    adds none, and a declined booking writes none."""
    user = uuid.uuid4()
    body = booking_body(await offer_for(client))
    headers = {**bearer(user), "Idempotency-Key": "once"}
    first = await client.post("/v1/bookings", json=body, headers=headers)
    again = await client.post("/v1/bookings", json=body, headers=headers)
    assert (first.status, again.status) == (201, 201)
    booking_id = (await first.json())["id"]
    rows = await db.fetch("SELECT template, cause, recipient, idempotency_key FROM mail_outbox")
    assert [(r["template"], r["cause"], r["recipient"]) for r in rows] == [
        ("booking_confirmation", {"booking_id": booking_id}, "ada@example.com")
    ]
    declined = await client.post(
        "/v1/bookings", json={**body, "payment": DECLINED_CARD},
        headers={**bearer(user), "Idempotency-Key": "declined"},
    )  # fmt: skip
    assert declined.status == 402
    assert await db.fetchval("SELECT count(*) FROM mail_outbox") == 1
    # Its flight's reminders are scheduled with it.
    jobs = await db.fetch("SELECT kind FROM scheduled_jobs ORDER BY kind")
    assert [j["kind"] for j in jobs] == ["checkin_open", "departure_reminder"]


async def test_a_cancellation_confirms_the_refund(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection,
    search_world: dict[str, int], controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, _server = controlled_smtp
    client = await _mail_client(aiohttp_client, settings, mailbox)
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client)))
    await arrived(mailbox, 1)
    quote = await client.post(
        f"/v1/bookings/{booking['id']}/cancellation-quotes", headers=bearer(user)
    )
    quote_id = (await quote.json())["id"]
    for _ in range(2):  # a retried confirmation is one email
        confirmed = await client.post(
            f"/v1/bookings/{booking['id']}/cancellations", json={"quote_id": quote_id},
            headers=bearer(user),
        )  # fmt: skip
        assert confirmed.status == 200, await confirmed.text()
    [_, cancelled] = await arrived(mailbox, 2)
    assert cancelled["Subject"] == f"Your booking {booking['record_locator']} is cancelled"
    refund = format_currency(booking["total"]["amount_minor"] / 100, "USD", locale="en")
    assert f"Refund: {refund}" in parts(cancelled)["text"]
    await outbox_settled(db)
    assert len(mailbox.messages) == 2


async def test_without_smtp_a_mail_directory_receives_each_message_as_an_eml_file(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection,
    search_world: dict[str, int], tmp_path: Path,
) -> None:  # fmt: skip
    """What `skybound demo` does when no SMTP host is set."""
    directory = tmp_path / "mail"
    client = await aiohttp_client(create_app(settings.model_copy(
        update={"mail_directory": directory}
    )))  # fmt: skip
    booking = await book(client, uuid.uuid4(), booking_body(await offer_for(client)))

    await eventually(lambda: len(list(directory.glob("*.eml"))) == 1, what="an .eml file")
    [path] = directory.glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == f"Your booking {booking['record_locator']} is confirmed"
    assert len(parts(message)["attachments"]) == 2
    await outbox_settled(db)
    assert [p.name for p in directory.iterdir()] == [path.name]  # nothing partial left
