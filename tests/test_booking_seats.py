"""Seats chosen at booking: prices, holds, bad seats, and a race for one seat."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.booking_helpers import bearer, book, booking_body, offer_for, post_booking
from tests.factories import add_aircraft_cabins
from tests.problems import assert_problem


@pytest.fixture
async def seated_world(db: asyncpg.Connection, search_world: dict[str, int]) -> dict[str, int]:
    """The search world with an A320 seat map on every flight."""
    await add_aircraft_cabins(db)
    await db.execute("UPDATE flights SET aircraft_type = '32N'")
    return search_world


async def _state(db: asyncpg.Connection, flight: int) -> dict[str, int]:
    row = await db.fetchrow(
        """SELECT (SELECT seats_sold FROM flight_cabins WHERE flight_id = $1) AS sold,
                  (SELECT count(*) FROM seat_assignments WHERE flight_id = $1) AS seats,
                  (SELECT count(*) FROM bookings) AS bookings,
                  (SELECT count(*) FROM simulated_provider_ledger
                    WHERE status = 'succeeded') AS captured""",
        flight,
    )
    return dict(row)


async def test_a_chosen_seat_is_assigned_priced_and_announced(
    client: TestClient, db: asyncpg.Connection, seated_world: dict[str, int]
) -> None:
    flight = seated_world["jfk_lhr"]
    offer = await offer_for(client)
    booking = await book(client, uuid.uuid4(), booking_body(
        offer, seats=[{"flight_id": flight, "passenger": 0, "seat": "1A"}]
    ))  # fmt: skip
    # 1A: window and extra legroom, 15% of the 200.00 economy base fare.
    assert booking["fare"]["seats"]["amount_minor"] == 3000
    assert booking["total"]["amount_minor"] == offer["total"]["amount_minor"] + 3000
    assert booking["payments"][0]["amount"] == booking["total"]
    assert booking["segments"][0]["seats"] == [{"passenger_no": 1, "seat": "1A"}]
    announced = await db.fetchval(
        "SELECT payload FROM change_events WHERE event_type = 'seats.changed' ORDER BY id DESC"
    )
    assert announced == {"flight_id": flight, "seats": {"1A": "booked"}}


async def test_own_hold_is_used_and_another_users_hold_is_refused(
    client: TestClient, db: asyncpg.Connection, seated_world: dict[str, int]
) -> None:
    flight = seated_world["jfk_lhr"]
    me, rival = uuid.uuid4(), uuid.uuid4()
    for user, seat in ((me, "7C"), (rival, "7D")):
        held = await client.post(
            f"/v1/flights/{flight}/seat-holds", json={"seats": [seat]}, headers=bearer(user)
        )
        assert held.status == 201, await held.text()
    offer = await offer_for(client)
    before = await _state(db, flight)
    taken = await post_booking(client, me, booking_body(
        offer, seats=[{"flight_id": flight, "passenger": 0, "seat": "7D"}]
    ))  # fmt: skip
    await assert_problem(taken, 409)
    assert await _state(db, flight) == before

    last_event = await db.fetchval("SELECT max(id) FROM change_events")
    await book(client, me, booking_body(
        offer, seats=[{"flight_id": flight, "passenger": 0, "seat": "7C"}]
    ))  # fmt: skip
    # Watchers see the held seat become booked, never available in between.
    states = await db.fetch(
        """SELECT payload -> 'seats' ->> '7C' AS state FROM change_events
           WHERE event_type = 'seats.changed' AND id > $1 ORDER BY id""",
        last_event,
    )
    assert {s["state"] for s in states} == {"booked"}
    holds = await db.fetch("SELECT seat, user_id FROM seat_holds ORDER BY seat")
    assert [(h["seat"], h["user_id"]) for h in holds] == [("7D", rival)]


async def test_seats_that_do_not_exist_name_the_field(
    client: TestClient, db: asyncpg.Connection, seated_world: dict[str, int]
) -> None:
    flight = seated_world["jfk_lhr"]
    offer = await offer_for(client)
    before = await _state(db, flight)
    for seat in ("31A", "5G"):
        response = await post_booking(client, uuid.uuid4(), booking_body(
            offer, seats=[{"flight_id": flight, "passenger": 0, "seat": seat}]
        ))  # fmt: skip
        await assert_problem(response, 422, field="body.seats[0].seat")
    elsewhere = await post_booking(client, uuid.uuid4(), booking_body(
        offer, seats=[{"flight_id": seated_world["lhr_jfk"], "passenger": 0, "seat": "5A"}]
    ))  # fmt: skip
    await assert_problem(elsewhere, 422, field="body.seats[0].flight_id")
    assert await _state(db, flight) == before


async def test_two_hundred_bookings_racing_for_one_seat_have_one_winner(
    crowd_client: TestClient, db: asyncpg.Connection, seated_world: dict[str, int]
) -> None:
    client = crowd_client
    flight = seated_world["jfk_lhr"]
    offer = await offer_for(client)
    body = booking_body(offer, seats=[{"flight_id": flight, "passenger": 0, "seat": "10A"}])
    responses = await asyncio.gather(
        *(post_booking(client, uuid.uuid4(), body) for _ in range(200))
    )
    statuses = [r.status for r in responses]
    assert statuses.count(201) == 1
    assert statuses.count(409) == 199
    assert await _state(db, flight) == {"sold": 1, "seats": 1, "bookings": 1, "captured": 1}
