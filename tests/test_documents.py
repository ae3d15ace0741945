"""E-ticket receipts: what the PDF says, the barcodes it carries, who may read it, storage,
and signed links."""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pypdfium2 as pdfium
import pytest
import zxingcpp
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from api.keys import storage_key
from domain.documents import (
    document_key,
    link_secret,
    link_signature,
    pdf_text,
    render_eticket,
)
from domain.receipts import format_money, load_receipts
from domain.ticketing import ticket_number
from tests.factories import add_brands, add_cabin, add_flight, add_world
from tests.problems import assert_problem
from tests.tokens import access_token

LOCATOR = "XK7Q9P"
Client = TestClient[web.Request, web.Application]


@dataclass(frozen=True)
class Trip:
    """A two-segment, two-passenger booking with one void and two live tickets."""

    booking_id: uuid.UUID
    owner_id: uuid.UUID
    tickets: tuple[str, str]  # live, by passenger number
    void_ticket: str

    def url(self, ticket: str) -> str:
        return f"/v1/bookings/{self.booking_id}/documents/{ticket}.pdf"


def bearer(user_id: uuid.UUID, *roles: str) -> dict[str, str]:
    claims: dict[str, Any] = {"app_metadata": {"roles": list(roles)}} if roles else {}
    return {"Authorization": f"Bearer {access_token(user_id, **claims)}"}


@pytest.fixture
async def trip(db: asyncpg.Connection) -> Trip:
    """JFK-LHR-CDG on SB 100 and SB 2204 for Luc Desmarais (seats 12A, 3C) and José Núñez
    (12B, no seat on the second leg), bought by the owner; Luc's first ticket was voided."""
    await add_world(db)
    await add_brands(db, "SB")
    first = await add_flight(db, origin="JFK", destination="LHR", number=100,
                             departure=datetime(2026, 12, 1, 23, 30, tzinfo=UTC),
                             block=timedelta(hours=7))  # fmt: skip
    second = await add_flight(db, origin="LHR", destination="CDG", number=2204,
                              departure=datetime(2026, 12, 2, 10, 0, tzinfo=UTC),
                              block=timedelta(hours=1, minutes=15))  # fmt: skip
    for flight in (first, second):
        await add_cabin(db, flight)
    owner = uuid.uuid4()
    await db.execute("INSERT INTO profiles (user_id, email) VALUES ($1, 'luc@example.com')", owner)
    booking: uuid.UUID = await db.fetchval(
        """INSERT INTO bookings (record_locator, user_id, total_minor, currency, fare)
           VALUES ($1, $2, 123456, 'USD', $3) RETURNING id""",
        LOCATOR, owner, {"brand": "Standard", "cabin": "economy", "currency": "USD"},
    )  # fmt: skip
    await db.execute(
        """INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin,
                                         fare_brand)
           VALUES ($1, 1, 1, $2, 'economy', 'SB_ECO_STANDARD'),
                  ($1, 2, 1, $3, 'economy', 'SB_ECO_FLEX')""",
        booking, first, second,
    )  # fmt: skip
    rows = await db.fetch(
        """INSERT INTO passengers (booking_id, passenger_no, passenger_type, given_name,
                                   family_name, date_of_birth)
           VALUES ($1, 1, 'adult', 'Luc', 'Desmarais', '1980-05-17'),
                  ($1, 2, 'adult', 'José', 'Núñez', '1984-02-29')
           RETURNING passenger_no, id""",
        booking,
    )
    luc, jose = (row["id"] for row in sorted(rows, key=lambda row: row["passenger_no"]))
    seats = ((first, "12A", luc), (second, "3C", luc), (first, "12B", jose))
    for flight, seat, passenger in seats:
        await db.execute(
            """INSERT INTO seat_assignments (flight_id, seat, booking_id, passenger_id)
               VALUES ($1, $2, $3, $4)""",
            flight, seat, booking, passenger,
        )  # fmt: skip
    void, luc_ticket, jose_ticket = (ticket_number("901", 100000001 + n) for n in range(3))
    await db.executemany(
        """INSERT INTO tickets (ticket_number, booking_id, passenger_id, status, issued_at)
           VALUES ($1, $2, $3, $4, '2026-11-20 09:00+00')""",
        [(void, booking, luc, "void"), (luc_ticket, booking, luc, "open"),
         (jose_ticket, booking, jose, "open")],
    )  # fmt: skip

    return Trip(
        booking_id=booking,
        owner_id=owner,
        tickets=(luc_ticket, jose_ticket),
        void_ticket=void,
    )


def read_pdf(data: bytes) -> tuple[str, list[str], int]:
    """The PDF's text, the text of every barcode on its pages, and its page count."""
    document = pdfium.PdfDocument(data)
    try:
        texts, codes = [], []
        for index in range(len(document)):
            page = document[index]
            texts.append(page.get_textpage().get_text_range())
            image = page.render(scale=2).to_pil()
            codes += [result.text for result in zxingcpp.read_barcodes(image)]
        return "\n".join(texts), codes, len(document)
    finally:
        document.close()


# The PDF ------------------------------------------------------------------------------------


async def test_owner_gets_a_pdf_with_ticket_passenger_and_no_boarding_barcode(
    client: Client, trip: Trip
) -> None:
    ticket = trip.tickets[0]
    response = await client.get(trip.url(ticket), headers=bearer(trip.owner_id))
    assert response.status == 200, await response.text()
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"] == f'inline; filename="e-ticket-{ticket}.pdf"'
    text, codes, pages = read_pdf(await response.read())
    assert pages == 1
    for expected in (ticket, "DESMARAIS/LUC", LOCATOR, "Electronic ticket receipt",
                     "Skybound Airways", "USD 1,234.56", "SB100", "SB2204", "New York",
                     "London Heathrow Airport", "18:30", "06:30 +1", "Standard", "Flex",
                     "12A", "3C", "USD 75.00",
                     f"(check digit {int(ticket[3:]) % 7})"):  # fmt: skip
        assert expected in text, expected
    # A receipt is not a boarding pass: passes are issued at check-in, and only then.
    assert codes == []
    assert "This receipt is not a boarding pass." in text


async def test_each_passenger_gets_their_own_receipt_and_seats(client: Client, trip: Trip) -> None:
    ticket = trip.tickets[1]
    response = await client.get(trip.url(ticket), headers=bearer(trip.owner_id))
    assert response.status == 200
    text, codes, _ = read_pdf(await response.read())
    assert "NÚÑEZ/JOSÉ" in text
    assert "DESMARAIS" not in text
    assert "12B" in text
    assert codes == []


async def test_receipts_are_one_per_live_ticket_with_seats_in_segment_order(
    db: asyncpg.Connection, trip: Trip
) -> None:
    receipts = await load_receipts(db, trip.booking_id)
    assert [r.ticket_number for r in receipts] == list(trip.tickets)
    luc, jose = receipts
    assert [s.seat for s in luc.segments] == ["12A", "3C"]
    assert [s.seat for s in jose.segments] == ["12B", None]
    assert [s.designator for s in luc.segments] == ["SB100", "SB2204"]
    assert luc.segments[0].departure.isoformat() == "2026-12-01T18:30:00-05:00"
    assert luc.segments[0].arrival.isoformat() == "2026-12-02T06:30:00+00:00"
    assert (luc.total, luc.passengers_on_booking, luc.issuing_airline) == (
        "USD 1,234.56", 2, "Skybound Airways")  # fmt: skip
    assert [c.brand for c in luc.conditions] == ["Standard", "Flex"]
    only = await load_receipts(db, trip.booking_id, ticket_number=trip.void_ticket)
    assert only == []


async def test_rendering_is_deterministic_and_small(db: asyncpg.Connection, trip: Trip) -> None:
    receipt = (await load_receipts(db, trip.booking_id))[0]
    pdf = render_eticket(receipt)
    assert pdf.startswith(b"%PDF-")
    assert pdf == render_eticket(receipt)
    assert len(pdf) < 20_000


async def test_names_outside_the_pdf_font_are_transliterated(
    db: asyncpg.Connection, trip: Trip
) -> None:
    await db.execute(
        """UPDATE passengers SET given_name = 'Zoë 李', family_name = 'Łukasiewicz-Dvořák'
           WHERE booking_id = $1 AND passenger_no = 1""",
        trip.booking_id,
    )
    receipt = (await load_receipts(db, trip.booking_id))[0]
    text, codes, _ = read_pdf(render_eticket(receipt))
    assert "LUKASIEWICZ-DVORÁK/ZOË ?" in text
    assert codes == []
    assert pdf_text("Ørsted Straße Œuvre Ğ \u0131 → Ж") == "Ørsted Straße Œuvre G i - ?"


async def test_many_segments_flow_onto_more_pages(db: asyncpg.Connection, trip: Trip) -> None:
    route = ["CDG", "LHR", "BOS", "LAX", "SYD", "LAX", "JFK"] * 2
    extra = []
    for i, (origin, destination) in enumerate(itertools.pairwise(route)):
        departure = datetime(2026, 12, 3 + i, 12, tzinfo=UTC)
        extra.append(await add_flight(db, origin=origin, destination=destination,
                                      number=300 + i, departure=departure))  # fmt: skip
    await db.executemany(
        """INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin,
                                         fare_brand)
           VALUES ($1, $2, 2, $3, 'economy', 'SB_ECO_LIGHT')""",
        [(trip.booking_id, 3 + i, flight) for i, flight in enumerate(extra)],
    )
    receipt = (await load_receipts(db, trip.booking_id))[0]
    text, codes, pages = read_pdf(render_eticket(receipt))
    assert pages == 2
    assert codes == []
    assert all(f"SB{300 + i}" in text for i in range(len(extra)))
    assert "Page 2 of 2" in text


@pytest.mark.parametrize(
    ("amount", "currency", "digits", "shown"),
    [(123456, "USD", None, "USD 1,234.56"), (98000, "JPY", None, "JPY 98,000"),
     (1234567, "KWD", None, "KWD 1,234.567"), (5, "EUR", None, "EUR 0.05"),
     (1234, "XYZ", 0, "XYZ 1,234")],
)  # fmt: skip
def test_money_is_shown_with_the_currency_exponent(
    amount: int, currency: str, digits: int | None, shown: str
) -> None:
    assert format_money(amount, currency, digits) == shown


# Who may read it -------------------------------------------------------------------------


async def test_another_user_gets_the_same_404_as_for_an_unknown_ticket(
    client: Client, trip: Trip
) -> None:
    stranger = bearer(uuid.uuid4())
    urls = [
        (trip.url(trip.tickets[0]), stranger),
        (trip.url(ticket_number("901", 999999999)), bearer(trip.owner_id)),
        (f"/v1/bookings/{uuid.uuid4()}/documents/{trip.tickets[0]}.pdf", bearer(trip.owner_id)),
        (trip.url(trip.void_ticket), bearer(trip.owner_id)),
    ]
    for url, headers in urls:
        body = await assert_problem(await client.get(url, headers=headers), 404)
        assert body["type"] == "https://skybound.dev/problems/document-not-found", url
    link = f"/v1/bookings/{trip.booking_id}/documents/{trip.tickets[0]}/links"
    await assert_problem(await client.post(link, headers=stranger), 404)


async def test_a_request_without_a_token_or_link_is_401(client: Client, trip: Trip) -> None:
    await assert_problem(await client.get(trip.url(trip.tickets[0])), 401)
    await assert_problem(
        await client.get(f"/v1/bookings/{trip.booking_id}/documents/123.pdf",
                         headers=bearer(trip.owner_id)),
        422, field="path.ticket_number",
    )  # fmt: skip


async def test_agents_and_admins_read_any_booking(
    client: Client, db: asyncpg.Connection, trip: Trip
) -> None:
    agent = bearer(uuid.uuid4(), "agent")
    response = await client.get(trip.url(trip.tickets[0]), headers=agent)
    assert response.status == 200
    admin = uuid.uuid4()
    await db.execute("INSERT INTO user_roles (user_id, role) VALUES ($1, 'admin')", admin)
    response = await client.get(trip.url(trip.tickets[1]), headers=bearer(admin))
    assert response.status == 200
    ops = bearer(uuid.uuid4(), "ops")
    await assert_problem(await client.get(trip.url(trip.tickets[0]), headers=ops), 404)


# Storage ------------------------------------------------------------------------------------


async def test_the_pdf_is_rendered_once_then_served_from_storage(
    client: Client, db: asyncpg.Connection, trip: Trip
) -> None:
    ticket = trip.tickets[0]
    assert await db.fetchval(
        "SELECT document_key FROM tickets WHERE ticket_number = $1", ticket) is None  # fmt: skip
    first = await (await client.get(trip.url(ticket), headers=bearer(trip.owner_id))).read()
    key = await db.fetchval("SELECT document_key FROM tickets WHERE ticket_number = $1", ticket)
    assert key == document_key(trip.booking_id, ticket)
    assert key == f"tickets/{trip.booking_id}/{ticket}.pdf"
    storage = client.app[storage_key]
    assert await storage.get(key) == first

    # What is stored is what is served: a marked copy comes back byte for byte.
    marked = first + b"%stored copy\n"
    await storage.put(key, marked, "application/pdf")
    again = await client.get(trip.url(ticket), headers=bearer(trip.owner_id))
    assert await again.read() == marked
    assert await db.fetchval(
        "SELECT count(*) FROM tickets WHERE document_key IS NOT NULL") == 1  # fmt: skip

    # A lost file is rendered again, to the same bytes.
    await storage.delete(key)
    restored = await client.get(trip.url(ticket), headers=bearer(trip.owner_id))
    assert await restored.read() == first
    assert await storage.get(key) == first


# Signed links -------------------------------------------------------------------------------


async def test_a_signed_link_opens_the_pdf_without_a_token(client: Client, trip: Trip) -> None:
    ticket = trip.tickets[0]
    before = time.time()
    response = await client.post(
        f"/v1/bookings/{trip.booking_id}/documents/{ticket}/links", headers=bearer(trip.owner_id)
    )
    assert response.status == 200, await response.text()
    link = await response.json()
    url = URL(link["url"])
    assert url.path == trip.url(ticket)
    expires = int(url.query["expires"])
    assert before + 299 <= expires <= time.time() + 300
    assert datetime.fromisoformat(link["expires_at"]) == datetime.fromtimestamp(expires, UTC)

    opened = await client.get(link["url"])
    assert opened.status == 200
    assert opened.content_type == "application/pdf"
    text, codes, _ = read_pdf(await opened.read())
    assert ticket in text
    assert codes == []


async def test_a_tampered_link_is_403_and_an_expired_one_too(
    client: Client, db: asyncpg.Connection, trip: Trip
) -> None:
    ticket, other = trip.tickets
    response = await client.post(
        f"/v1/bookings/{trip.booking_id}/documents/{ticket}/links", headers=bearer(trip.owner_id)
    )
    url = URL((await response.json())["url"])
    expires, signature = url.query["expires"], url.query["signature"]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    tampered = [
        url.update_query(signature=flipped),
        url.update_query(expires=str(int(expires) + 3600)),
        URL(trip.url(other)).with_query(expires=expires, signature=signature),
        url.update_query(signature="ünïcode"),
        URL(trip.url(ticket)).with_query(signature=signature),
    ]
    for bad in tampered:
        body = await assert_problem(await client.get(str(bad)), 403)
        assert body["type"] == "https://skybound.dev/problems/document-link-invalid", bad

    past = int(time.time()) - 1
    secret = await link_secret(db)
    stale = URL(trip.url(ticket)).with_query(
        expires=str(past), signature=link_signature(secret, trip.booking_id, ticket, past)
    )
    body = await assert_problem(await client.get(str(stale)), 403)
    assert body["type"] == "https://skybound.dev/problems/document-link-expired"


async def test_a_link_to_a_ticket_voided_since_is_404(
    client: Client, db: asyncpg.Connection, trip: Trip
) -> None:
    ticket = trip.tickets[0]
    response = await client.post(
        f"/v1/bookings/{trip.booking_id}/documents/{ticket}/links", headers=bearer(trip.owner_id)
    )
    url = (await response.json())["url"]
    await db.execute("UPDATE tickets SET status = 'void' WHERE ticket_number = $1", ticket)
    body = await assert_problem(await client.get(url), 404)
    assert body["type"] == "https://skybound.dev/problems/document-not-found"


async def test_the_link_key_is_made_once_and_kept(db: asyncpg.Connection) -> None:
    first = await link_secret(db)
    assert len(first) >= 32
    assert await link_secret(db) == first
    assert await db.fetchval("SELECT count(*) FROM app_secrets WHERE name = 'document_links'") == 1


async def test_the_routes_are_documented_with_plain_path_templates(client: Client) -> None:
    spec = await (await client.get("/openapi.json")).json()
    document = spec["paths"]["/v1/bookings/{booking_id}/documents/{ticket_number}.pdf"]["get"]
    assert "application/pdf" in document["responses"]["200"]["content"]
    assert {"403", "404"} <= set(document["responses"])
    assert "post" in spec["paths"]["/v1/bookings/{booking_id}/documents/{ticket_number}/links"]
