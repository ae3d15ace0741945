"""Flight coupons and their life; seat EMDs with their own numbers and refund rules."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from domain.ticketing import valid_ticket_number
from tests.booking_helpers import GOOD_CARD, adult, bearer, book, booking_body, offer_for
from tests.factories import add_aircraft_cabins


@pytest.fixture
async def seated_world(db: asyncpg.Connection, search_world: dict[str, int]) -> dict[str, int]:
    await add_aircraft_cabins(db)
    await db.execute("UPDATE flights SET aircraft_type = '32N'")
    return search_world


async def _booking(client: TestClient, user: uuid.UUID, booking_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/bookings/{booking_id}", headers=bearer(user))
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def _book_with_seat(
    client: TestClient, flight: int, *, brand: str = "Standard", seat: str = "1A"
) -> tuple[uuid.UUID, dict[str, Any]]:
    user = uuid.uuid4()
    offer = await offer_for(client, brand=brand, passengers={"adults": 2})
    body = booking_body(offer, passengers=[adult(), adult(given="Bea")],
                        seats=[{"flight_id": flight, "passenger": 0, "seat": seat}])  # fmt: skip
    return user, await book(client, user, body)


async def test_a_paid_seat_is_sold_on_its_own_emd_and_each_segment_on_a_coupon(
    client: TestClient, seated_world: dict[str, int]
) -> None:
    flight = seated_world["jfk_lhr"]
    _, booking = await _book_with_seat(client, flight)
    ada, bea = booking["passengers"]
    (emd,) = ada["emds"]
    assert valid_ticket_number(emd["emd_number"])
    assert emd["emd_number"].startswith("9018")  # SB's code, the EMD range
    assert (emd["description"], emd["seat"], emd["flight_id"]) == ("Seat 1A SB1", "1A", flight)
    assert emd["amount"] == {"amount_minor": 3000, "currency": "USD"}
    assert emd["status"] == "open"
    assert bea["emds"] == []
    ticket = ada["tickets"][0]
    coupon = {"coupon_no": 1, "document_number": ticket["ticket_number"], "segment_no": 1,
              "flight_id": flight, "status": "open"}  # fmt: skip
    assert ticket["coupons"] == [coupon]
    # Each ticket reserves a block of document numbers for conjunction tickets.
    numbers = sorted(int(p["tickets"][0]["ticket_number"]) for p in booking["passengers"])
    assert numbers[1] - numbers[0] >= 5


async def test_coupons_are_lifted_at_departure_and_flown_on_arrival_no_shows_stay_open(
    client: TestClient, db: asyncpg.Connection, seated_world: dict[str, int]
) -> None:
    flight = seated_world["jfk_lhr"]
    user, booking = await _book_with_seat(client, flight)
    ada = booking["passengers"][0]["tickets"][0]["ticket_number"]
    await db.execute(  # Ada checks in; Bea does not turn up
        "UPDATE ticket_coupons SET status = 'checked_in' WHERE ticket_number = $1", ada
    )
    await db.execute("UPDATE flights SET status = 'departed' WHERE id = $1", flight)
    departed = await _booking(client, user, booking["id"])
    ada_pax, bea_pax = departed["passengers"]
    assert ada_pax["tickets"][0]["coupons"][0]["status"] == "lifted"
    assert ada_pax["emds"][0]["status"] == "used"
    assert bea_pax["tickets"][0]["coupons"][0]["status"] == "open"

    await db.execute("UPDATE flights SET status = 'arrived' WHERE id = $1", flight)
    arrived = await _booking(client, user, booking["id"])
    ada_pax, bea_pax = arrived["passengers"]
    assert (ada_pax["tickets"][0]["status"], ada_pax["tickets"][0]["coupons"][0]["status"]) == (
        "used", "flown",
    )  # fmt: skip
    assert bea_pax["tickets"][0]["status"] == "open"


async def test_a_fifth_segment_goes_on_a_conjunction_ticket(
    client: TestClient, db: asyncpg.Connection, seated_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client)))
    booking_id = uuid.UUID(booking["id"])
    others = [seated_world[k] for k in ("lhr_cdg_ok", "cdg_lax", "lhr_jfk", "bos_jfk")]
    await db.executemany(
        """INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin,
                                         fare_brand)
           VALUES ($1, $2, $2, $3, 'economy', 'SB_ECO_STANDARD')""",
        [(booking_id, n, flight) for n, flight in enumerate(others, 2)],
    )
    number = await db.fetchval(
        """INSERT INTO tickets (ticket_number, booking_id, passenger_id)
           SELECT '9010999999990', $1, id FROM passengers WHERE booking_id = $1
           RETURNING ticket_number""",
        booking_id,
    )
    coupons = await db.fetch(
        "SELECT coupon_no, document_number FROM ticket_coupons WHERE ticket_number = $1 "
        "ORDER BY coupon_no",
        number,
    )
    assert [(c["coupon_no"], c["document_number"]) for c in coupons] == [
        (1, "9010999999990"), (2, "9010999999990"), (3, "9010999999990"),
        (4, "9010999999990"), (5, "9010999999991"),
    ]  # fmt: skip


async def test_tickets_of_two_bookings_issued_in_one_statement_get_their_own_coupons(
    client: TestClient, db: asyncpg.Connection, seated_world: dict[str, int]
) -> None:
    first = uuid.UUID(
        (await book(client, uuid.uuid4(), booking_body(await offer_for(client))))["id"]
    )
    second = uuid.UUID(
        (await book(client, uuid.uuid4(), booking_body(await offer_for(client))))["id"]
    )
    await db.execute(
        """INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin,
                                         fare_brand)
           VALUES ($1, 2, 2, $2, 'economy', 'SB_ECO_STANDARD')""",
        second, seated_world["lhr_jfk"],
    )  # fmt: skip
    await db.execute(
        """INSERT INTO tickets (ticket_number, booking_id, passenger_id)
           SELECT CASE booking_id WHEN $1 THEN '9010999999980' ELSE '9010999999985' END,
                  booking_id, id
           FROM passengers WHERE booking_id IN ($1, $2)""",
        first, second,
    )  # fmt: skip
    coupons = await db.fetch(
        """SELECT ticket_number, coupon_no, booking_id, segment_no, flight_id
           FROM ticket_coupons WHERE ticket_number IN ('9010999999980', '9010999999985')
           ORDER BY ticket_number, coupon_no"""
    )
    assert [tuple(c.values()) for c in coupons] == [
        ("9010999999980", 1, first, 1, seated_world["jfk_lhr"]),
        ("9010999999985", 1, second, 1, seated_world["jfk_lhr"]),
        ("9010999999985", 2, second, 2, seated_world["lhr_jfk"]),
    ]


async def test_a_refundable_fare_gives_back_the_fare_not_the_seat(
    client: TestClient, db: asyncpg.Connection, seated_world: dict[str, int]
) -> None:
    flight = seated_world["jfk_lhr"]
    user, booking = await _book_with_seat(client, flight, brand="Flex")
    booking_id = uuid.UUID(booking["id"])  # bought two days ago
    await db.execute(
        "UPDATE bookings SET created_at = created_at - interval '2 days' WHERE id = $1",
        booking_id,
    )
    for table in ("tickets", "emds"):
        await db.execute(
            f"UPDATE {table} SET issued_at = issued_at - interval '2 days' WHERE booking_id = $1",
            booking_id,
        )
    quote = await client.post(
        f"/v1/bookings/{booking['id']}/cancellation-quotes", headers=bearer(user)
    )
    assert quote.status == 201, await quote.text()
    details = (await quote.json())["details"]
    paid = booking["total"]["amount_minor"]
    assert details["refund_minor"] == paid - 3000  # Flex has no cancellation fee
    cancelled = await client.post(
        f"/v1/bookings/{booking['id']}/cancellations",
        json={"quote_id": (await quote.json())["id"]}, headers=bearer(user),
    )  # fmt: skip
    assert cancelled.status == 200, await cancelled.text()
    ada = (await cancelled.json())["passengers"][0]
    assert ada["tickets"][0]["status"] == "refunded"
    assert ada["tickets"][0]["coupons"][0]["status"] == "refunded"
    assert ada["emds"][0]["status"] == "open"  # non-refundable, unused


async def test_cancelled_in_full_on_the_day_of_issue_everything_is_void(
    client: TestClient, seated_world: dict[str, int]
) -> None:
    user, booking = await _book_with_seat(client, seated_world["jfk_lhr"])
    quote = await client.post(
        f"/v1/bookings/{booking['id']}/cancellation-quotes", headers=bearer(user)
    )
    body = await quote.json()
    assert body["details"]["rule"] == "within_24_hours"
    cancelled = await client.post(
        f"/v1/bookings/{booking['id']}/cancellations", json={"quote_id": body["id"]},
        headers=bearer(user),
    )  # fmt: skip
    ada = (await cancelled.json())["passengers"][0]
    assert ada["tickets"][0]["status"] == "void"
    assert ada["tickets"][0]["coupons"][0]["status"] == "void"
    assert ada["emds"][0]["status"] == "void"


async def test_a_seat_change_exchanges_the_emd_for_one_of_the_difference(
    client: TestClient, seated_world: dict[str, int]
) -> None:
    flight = seated_world["jfk_lhr"]
    user, booking = await _book_with_seat(client, flight, seat="3A")  # window: 5%, 10.00
    quote = await client.post(
        f"/v1/bookings/{booking['id']}/change-quotes",
        json={"change": {"type": "seats",
                         "seats": [{"flight_id": flight, "passenger": 0, "seat": "11A"}]}},
        headers=bearer(user),
    )  # fmt: skip
    assert quote.status == 201, await quote.text()
    changed = await client.post(
        f"/v1/bookings/{booking['id']}/changes",
        json={"quote_id": (await quote.json())["id"], "payment": GOOD_CARD},
        headers=bearer(user),
    )  # fmt: skip
    assert changed.status == 200, await changed.text()
    emds = (await changed.json())["passengers"][0]["emds"]
    assert [(e["seat"], e["amount"]["amount_minor"], e["status"]) for e in emds] == [
        ("3A", 1000, "exchanged"), ("11A", 2000, "open"),
    ]  # fmt: skip
