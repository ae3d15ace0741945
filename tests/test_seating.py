"""Seat maps, seat holds and seat claims: layout, prices, states, races, expiry, live events."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from api.problems import status_of
from domain.seating import (
    PassengerAlreadySeated,
    SeatHeldByAnother,
    SeatHold,
    SeatHoldNotFound,
    SeatUnavailable,
    UnknownSeat,
    claim_seats,
    hold_reaper,
    hold_seats,
    reap_expired_holds,
    release_hold,
    release_seats,
    seat_map,
    user_holds,
)
from foundation.database import create_pool
from streams.topics import InvalidTopic, parse_topic, seats_topic
from tests.factories import add_aircraft, add_aircraft_cabins, add_cabin, add_flight, add_world
from tests.problems import assert_problem
from tests.sse_client import SseReader
from tests.tokens import access_token
from tests.waiting import eventually

ALICE = uuid.UUID("00000000-0000-4000-8000-00000000a11c")
BOB = uuid.UUID("00000000-0000-4000-8000-000000000b0b")

# A 787-like layout: lone business seats by the windows, two aisles further back.
WIDEBODY_CABINS = (
    ("business", 1, 8, "A DG K", (), ()),
    ("premium_economy", 20, 23, "AC DFG HK", (), (20,)),
    ("economy", 30, 54, "ABC DEF HJK", (30, 42), (30, 42)),
)


@pytest.fixture
async def flight(db: asyncpg.Connection) -> int:
    """A JFK-LHR leg flown by an A320 (rows 1-30 'ABC DEF'), economy base fare 200.00 USD."""
    await add_world(db)
    await add_aircraft_cabins(db, "32N")
    flight_id = await add_flight(db, origin="JFK", destination="LHR", aircraft_type="32N",
                                 departure=datetime.now(UTC) + timedelta(days=3))  # fmt: skip
    await add_cabin(db, flight_id, cabin="economy", capacity=180, fare_minor=20000)
    return flight_id


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A request pool on this test's database, as the app uses."""
    pool = await create_pool(database_url, min_size=1, max_size=20)
    try:
        yield pool
    finally:
        await pool.close()


def bearer(user_id: uuid.UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token(user_id)}"}


def seats_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every seat of a seat map's JSON, by designator."""
    return {
        seat["seat"]: seat
        for cabin in body["cabins"]
        for row in cabin["rows"]
        for seat in row["seats"]
    }


async def seat_events(db: asyncpg.Connection, flight_id: int) -> list[dict[str, str]]:
    """The ``seats`` of every seats.changed event of the flight, oldest first."""
    rows = await db.fetch(
        """SELECT payload FROM change_events
           WHERE event_type = 'seats.changed' AND $1 = ANY(topics) ORDER BY id""",
        f"seats:{flight_id}",
    )
    for row in rows:
        assert row["payload"]["flight_id"] == flight_id
    return [row["payload"]["seats"] for row in rows]


async def add_booking(
    db: asyncpg.Connection, user_id: uuid.UUID, passengers: int = 1
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A confirmed booking of ``user_id`` with adult passengers, and their ids."""
    await db.execute("INSERT INTO profiles (user_id) VALUES ($1) ON CONFLICT DO NOTHING", user_id)
    booking_id = await db.fetchval(
        """INSERT INTO bookings (record_locator, user_id, total_minor, currency)
           VALUES ($1, $2, 0, 'USD') RETURNING id""",
        uuid.uuid4().hex[:6].upper(),
        user_id,
    )
    ids = [
        await db.fetchval(
            """INSERT INTO passengers (booking_id, passenger_no, passenger_type, given_name,
                                       family_name, date_of_birth)
               VALUES ($1, $2, 'adult', 'Ada', 'Lovelace', '1990-01-01') RETURNING id""",
            booking_id,
            n,
        )
        for n in range(1, passengers + 1)
    ]
    return booking_id, ids


async def expire_holds(db: asyncpg.Connection, flight_id: int) -> None:
    await db.execute(
        "UPDATE seat_holds SET expires_at = now() - interval '1 second' WHERE flight_id = $1",
        flight_id,
    )


# Seat maps ---------------------------------------------------------------------------


async def test_seat_map_lists_every_seat_with_characteristics_and_prices(
    db: asyncpg.Connection, flight: int
) -> None:
    body = (await seat_map(db, flight)).model_dump(mode="json")
    assert body["flight_id"] == flight
    assert body["aircraft"] == "32N"
    [cabin] = body["cabins"]
    assert (cabin["cabin"], cabin["layout"], cabin["currency"]) == ("economy", "ABC DEF", "USD")
    assert [row["row"] for row in cabin["rows"]] == list(range(1, 31))
    assert [s["seat"] for s in cabin["rows"][9]["seats"]] == [f"10{x}" for x in "ABCDEF"]
    seats = seats_of(body)
    assert len(seats) == 180
    assert {s["state"] for s in seats.values()} == {"available"}
    # Across a row: window, middle, aisle | aisle, middle, window.
    assert [seats[f"20{x}"]["characteristics"] for x in "ABCDEF"] == [
        ["window"], ["middle"], ["aisle"], ["aisle"], ["middle"], ["window"],
    ]  # fmt: skip
    assert seats["11A"]["characteristics"] == ["window", "exit_row", "extra_legroom"]
    assert seats["1B"]["characteristics"] == ["middle", "extra_legroom"]
    rows = {row["row"]: row for row in cabin["rows"]}
    assert (rows[12]["exit_row"], rows[12]["extra_legroom"]) == (True, True)
    assert (rows[1]["exit_row"], rows[1]["extra_legroom"]) == (False, True)
    assert (rows[13]["exit_row"], rows[13]["extra_legroom"]) == (False, False)
    # Economy: legroom 15% of the 200.00 base fare, window or aisle 5%, middle free.
    assert seats["12B"]["price_minor"] == 3000
    assert seats["1C"]["price_minor"] == 3000
    assert seats["20A"]["price_minor"] == 1000
    assert seats["20D"]["price_minor"] == 1000
    assert seats["20E"]["price_minor"] == 0


async def test_premium_cabins_price_only_legroom_and_business_is_free(
    db: asyncpg.Connection,
) -> None:
    await add_world(db)
    await add_aircraft(db, "789")
    await add_aircraft_cabins(db, "789", WIDEBODY_CABINS)
    flight_id = await add_flight(db, origin="JFK", destination="LHR", aircraft_type="789",
                                 departure=datetime.now(UTC) + timedelta(days=3))  # fmt: skip
    for cabin, fare in (("business", 300000), ("premium_economy", 90000), ("economy", 40000)):
        await add_cabin(db, flight_id, cabin=cabin, fare_minor=fare, currency="EUR")
    body = (await seat_map(db, flight_id)).model_dump(mode="json")
    assert [(c["cabin"], c["layout"]) for c in body["cabins"]] == [
        ("business", "A DG K"), ("premium_economy", "AC DFG HK"), ("economy", "ABC DEF HJK"),
    ]  # fmt: skip
    seats = seats_of(body)
    # A lone seat by the window is on the aisle too; D and G face an aisle each.
    assert seats["3A"]["characteristics"] == ["window", "aisle"]
    assert seats["3D"]["characteristics"] == ["aisle"]
    assert seats["3G"]["characteristics"] == ["aisle"]
    assert {seats[f"3{x}"]["price_minor"] for x in "ADGK"} == {0}
    assert seats["20F"]["characteristics"] == ["middle", "extra_legroom"]
    assert seats["20F"]["price_minor"] == 9000
    assert seats["21A"]["price_minor"] == 0
    assert seats["42E"]["characteristics"] == ["middle", "exit_row", "extra_legroom"]
    assert seats["42E"]["price_minor"] == 6000
    assert seats["43H"]["price_minor"] == 2000
    assert seats["43E"]["price_minor"] == 0
    assert {c["currency"] for c in body["cabins"]} == {"EUR"}


async def test_seat_states_show_bookings_holds_and_the_viewers_own_holds(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    await hold_seats(pool, ALICE, flight, ["10A"])
    booking_id, [passenger] = await add_booking(db, BOB)
    async with db.transaction():
        await claim_seats(db, user_id=BOB, flight_id=flight, cabin="economy",
                          booking_id=booking_id, assignments=[("10B", passenger)])  # fmt: skip
    anonymous = seats_of((await seat_map(db, flight)).model_dump(mode="json"))
    assert (anonymous["10A"]["state"], anonymous["10B"]["state"]) == ("held", "booked")
    assert anonymous["10C"]["state"] == "available"
    alice = seats_of((await seat_map(db, flight, ALICE)).model_dump(mode="json"))
    assert alice["10A"]["state"] == "held_by_you"
    bob = seats_of((await seat_map(db, flight, BOB)).model_dump(mode="json"))
    assert (bob["10A"]["state"], bob["10B"]["state"]) == ("held", "booked")


async def test_an_expired_hold_reads_as_available_before_the_reaper_runs(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    await hold_seats(pool, ALICE, flight, ["10A"])
    await expire_holds(db, flight)
    seats = seats_of((await seat_map(db, flight, ALICE)).model_dump(mode="json"))
    assert seats["10A"]["state"] == "available"
    assert (await user_holds(db, ALICE)).holds == []
    assert await db.fetchval("SELECT count(*) FROM seat_holds") == 1


async def test_seat_map_over_http_marks_the_callers_holds(
    client: TestClient, pool: asyncpg.Pool, flight: int
) -> None:
    await hold_seats(pool, ALICE, flight, ["7F"])
    anonymous = await client.get(f"/v1/flights/{flight}/seatmap")
    assert anonymous.status == 200
    assert seats_of(await anonymous.json())["7F"]["state"] == "held"
    mine = await client.get(f"/v1/flights/{flight}/seatmap", headers=bearer(ALICE))
    assert seats_of(await mine.json())["7F"]["state"] == "held_by_you"
    bad_token = await client.get(
        f"/v1/flights/{flight}/seatmap", headers={"Authorization": "Bearer nonsense"}
    )
    await assert_problem(bad_token, 401)


async def test_unknown_flight_is_404_flight_not_found(client: TestClient) -> None:
    body = await assert_problem(await client.get("/v1/flights/424242/seatmap"), 404)
    assert body["type"].endswith("/flight-not-found")


async def test_flight_without_aircraft_or_layout_is_404_seat_map_unavailable(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    departure = datetime.now(UTC) + timedelta(days=1)
    no_aircraft = await add_flight(db, origin="JFK", destination="LHR", departure=departure)
    no_layout = await add_flight(db, origin="JFK", destination="LHR", departure=departure,
                                 number=101, aircraft_type="32N")  # fmt: skip
    await add_cabin(db, no_layout)
    for flight_id in (no_aircraft, no_layout):
        response = await client.get(f"/v1/flights/{flight_id}/seatmap")
        body = await assert_problem(response, 404)
        assert body["type"] == "https://skybound.dev/problems/seat-map-unavailable"
        assert body["flight_id"] == flight_id


# Holds -------------------------------------------------------------------------------


async def test_hold_is_201_with_location_and_lasts_ten_minutes(
    client: TestClient, db: asyncpg.Connection, flight: int
) -> None:
    response = await client.post(f"/v1/flights/{flight}/seat-holds",
                                 json={"seats": ["12b", "12A"]}, headers=bearer(ALICE))  # fmt: skip
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["seats"] == ["12A", "12B"]
    assert body["flight_id"] == flight
    assert response.headers["Location"] == f"/v1/flights/{flight}/seat-holds/{body['hold_id']}"
    rows = await db.fetch(
        "SELECT seat, hold_id, user_id, expires_at - created_at AS ttl FROM seat_holds"
    )
    assert {r["seat"] for r in rows} == {"12A", "12B"}
    assert {(str(r["hold_id"]), r["user_id"], r["ttl"]) for r in rows} == {
        (body["hold_id"], ALICE, timedelta(minutes=10))
    }
    listed = await client.get("/v1/me/seat-holds", headers=bearer(ALICE))
    assert (await listed.json())["holds"] == [body]
    others = await client.get("/v1/me/seat-holds", headers=bearer(BOB))
    assert (await others.json())["holds"] == []


async def test_holding_needs_a_token(client: TestClient, flight: int) -> None:
    response = await client.post(f"/v1/flights/{flight}/seat-holds", json={"seats": ["1A"]})
    await assert_problem(response, 401)


async def test_a_seat_held_by_another_is_409_and_nothing_is_held(
    client: TestClient, db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    await hold_seats(pool, BOB, flight, ["14B"])
    response = await client.post(f"/v1/flights/{flight}/seat-holds",
                                 json={"seats": ["14A", "14B"]}, headers=bearer(ALICE))  # fmt: skip
    body = await assert_problem(response, 409)
    assert body["type"] == "https://skybound.dev/problems/seat-unavailable"
    assert body["seats"] == ["14B"]
    holders = await db.fetch("SELECT seat, user_id FROM seat_holds ORDER BY seat")
    assert [(r["seat"], r["user_id"]) for r in holders] == [("14B", BOB)]


async def test_a_booked_seat_cannot_be_held(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    booking_id, [passenger] = await add_booking(db, BOB)
    async with db.transaction():
        await claim_seats(db, user_id=BOB, flight_id=flight, cabin="economy",
                          booking_id=booking_id, assignments=[("3C", passenger)])  # fmt: skip
    with pytest.raises(SeatUnavailable) as raised:
        await hold_seats(pool, ALICE, flight, ["3C", "3D"])
    assert raised.value.extensions["seats"] == ["3C"]
    assert await db.fetchval("SELECT count(*) FROM seat_holds") == 0


@pytest.mark.parametrize(
    ("seats", "field", "slug"),
    [
        (["12A", "31A"], "body.seats.1", "unknown-seat"),
        (["12G"], "body.seats.0", "unknown-seat"),
        (["A12"], "body.seats.0", "validation-error"),
        (["12A", "12a"], "body.seats", "validation-error"),
        ([], "body.seats", "validation-error"),
        ([f"{n}A" for n in range(1, 11)], "body.seats", "validation-error"),
    ],
)
async def test_seats_not_on_the_layout_or_malformed_are_422_naming_the_seat(
    client: TestClient, flight: int, seats: list[str], field: str, slug: str
) -> None:
    response = await client.post(f"/v1/flights/{flight}/seat-holds", json={"seats": seats},
                                 headers=bearer(ALICE))  # fmt: skip
    body = await assert_problem(response, 422, field=field)
    assert body["type"] == f"https://skybound.dev/problems/{slug}"


async def test_holding_on_an_unknown_flight_is_404(client: TestClient, flight: int) -> None:
    response = await client.post("/v1/flights/424242/seat-holds", json={"seats": ["1A"]},
                                 headers=bearer(ALICE))  # fmt: skip
    body = await assert_problem(response, 404)
    assert body["type"].endswith("/flight-not-found")


async def test_holding_again_moves_seats_into_the_new_hold_and_extends_them(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    first = await hold_seats(pool, ALICE, flight, ["5A"], ttl=60)
    second = await hold_seats(pool, ALICE, flight, ["5A", "5B"], ttl=600)
    assert second.expires_at > first.expires_at
    assert (await user_holds(db, ALICE)).holds == [second]
    with pytest.raises(SeatHoldNotFound):
        await release_hold(pool, ALICE, flight, first.hold_id)


async def test_an_expired_hold_of_another_is_taken_over(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    await hold_seats(pool, BOB, flight, ["6A"])
    with pytest.raises(SeatUnavailable):
        await hold_seats(pool, ALICE, flight, ["6A"])
    await expire_holds(db, flight)
    taken = await hold_seats(pool, ALICE, flight, ["6A"])
    holder = await db.fetchrow("SELECT hold_id, user_id FROM seat_holds WHERE seat = '6A'")
    assert (holder["hold_id"], holder["user_id"]) == (taken.hold_id, ALICE)
    assert (await user_holds(db, BOB)).holds == []


async def test_fifty_travellers_racing_for_one_seat_leave_exactly_one_holder(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    users = [uuid.uuid4() for _ in range(50)]
    results = await asyncio.gather(
        *(hold_seats(pool, user, flight, ["14C"]) for user in users), return_exceptions=True
    )
    winners = [i for i, r in enumerate(results) if isinstance(r, SeatHold)]
    losers = [r for r in results if isinstance(r, SeatUnavailable)]
    assert len(winners) == 1, results
    assert len(losers) == 49
    holders = await db.fetch("SELECT user_id FROM seat_holds WHERE flight_id = $1", flight)
    assert [r["user_id"] for r in holders] == [users[winners[0]]]


async def test_overlapping_multi_seat_holds_race_without_deadlock_all_or_none(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    rng = random.Random(7)
    requests = [rng.sample(["15A", "15B", "15C", "15D"], 2) for _ in range(40)]
    users = [uuid.uuid4() for _ in requests]
    results = await asyncio.gather(
        *(hold_seats(pool, u, flight, seats) for u, seats in zip(users, requests, strict=True)),
        return_exceptions=True,
    )
    assert all(isinstance(r, SeatHold | SeatUnavailable) for r in results), results
    rows = await db.fetch("SELECT seat, user_id FROM seat_holds WHERE flight_id = $1", flight)
    held_by: dict[uuid.UUID, set[str]] = {}
    for row in rows:
        held_by.setdefault(row["user_id"], set()).add(row["seat"])
    winners = {users[i]: set(requests[i]) for i, r in enumerate(results) if isinstance(r, SeatHold)}
    assert held_by == winners


async def test_a_hold_waiting_on_a_booking_in_progress_fails_when_it_commits(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    booking_id, [passenger] = await add_booking(db, BOB)
    async with db.transaction():
        await claim_seats(db, user_id=BOB, flight_id=flight, cabin="economy",
                          booking_id=booking_id, assignments=[("16A", passenger)])  # fmt: skip
        hold = asyncio.create_task(hold_seats(pool, ALICE, flight, ["16A"]))

        async def hold_is_waiting() -> bool:
            return bool(await pool.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ))  # fmt: skip

        await eventually(hold_is_waiting)
    with pytest.raises(SeatUnavailable):
        await hold
    assert await db.fetchval("SELECT count(*) FROM seat_holds") == 0


async def test_release_frees_your_hold_and_another_users_hold_is_404(
    client: TestClient, db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    mine = await hold_seats(pool, ALICE, flight, ["8A", "8B"])
    theirs = await hold_seats(pool, BOB, flight, ["8C"])
    response = await client.delete(f"/v1/flights/{flight}/seat-holds/{theirs.hold_id}",
                                   headers=bearer(ALICE))  # fmt: skip
    body = await assert_problem(response, 404)
    assert body["type"].endswith("/seat-hold-not-found")
    wrong_flight = await client.delete(f"/v1/flights/{flight + 1}/seat-holds/{mine.hold_id}",
                                       headers=bearer(ALICE))  # fmt: skip
    await assert_problem(wrong_flight, 404)
    released = await client.delete(f"/v1/flights/{flight}/seat-holds/{mine.hold_id}",
                                   headers=bearer(ALICE))  # fmt: skip
    assert released.status == 204
    again = await client.delete(f"/v1/flights/{flight}/seat-holds/{mine.hold_id}",
                                headers=bearer(ALICE))  # fmt: skip
    await assert_problem(again, 404)
    rows = await db.fetch("SELECT seat FROM seat_holds")
    assert [r["seat"] for r in rows] == ["8C"]
    assert (await seat_events(db, flight))[-1] == {"8A": "available", "8B": "available"}


async def test_releasing_needs_a_uuid_hold_id(client: TestClient, flight: int) -> None:
    response = await client.delete(f"/v1/flights/{flight}/seat-holds/nope", headers=bearer(ALICE))
    await assert_problem(response, 422, field="path.hold_id")


# Claims ------------------------------------------------------------------------------


async def test_claim_books_held_seats_without_ever_showing_them_available(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    await hold_seats(pool, ALICE, flight, ["11A", "20B"])
    booking_id, passengers = await add_booking(db, ALICE, passengers=2)
    async with db.transaction():
        prices = await claim_seats(
            db, user_id=ALICE, flight_id=flight, cabin="economy", booking_id=booking_id,
            assignments=[("11A", passengers[0]), ("20B", passengers[1])],
        )  # fmt: skip
    assert prices == {"11A": 3000, "20B": 0}
    assert await db.fetchval("SELECT count(*) FROM seat_holds") == 0
    rows = await db.fetch("SELECT seat, passenger_id FROM seat_assignments ORDER BY seat")
    assert [(r["seat"], r["passenger_id"]) for r in rows] == [
        ("11A", passengers[0]), ("20B", passengers[1])
    ]  # fmt: skip
    states = [event["11A"] for event in await seat_events(db, flight) if "11A" in event]
    assert states == ["held", "booked", "booked"]


async def test_claim_of_a_seat_held_by_another_is_refused_and_the_transaction_survives(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    await hold_seats(pool, BOB, flight, ["17D"])
    booking_id, [passenger] = await add_booking(db, ALICE)
    async with db.transaction():
        with pytest.raises(SeatHeldByAnother) as raised:
            await claim_seats(db, user_id=ALICE, flight_id=flight, cabin="economy",
                              booking_id=booking_id, assignments=[("17D", passenger)])  # fmt: skip
        assert status_of(type(raised.value)) == 409
        assert raised.value.extensions["seats"] == ["17D"]
        # The caller's transaction is still usable: it may book without the seat.
        assert await db.fetchval("SELECT count(*) FROM seat_assignments") == 0


async def test_claim_of_an_expired_hold_of_another_succeeds(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    await hold_seats(pool, BOB, flight, ["17E"])
    await expire_holds(db, flight)
    booking_id, [passenger] = await add_booking(db, ALICE)
    async with db.transaction():
        await claim_seats(db, user_id=ALICE, flight_id=flight, cabin="economy",
                          booking_id=booking_id, assignments=[("17E", passenger)])  # fmt: skip
    assert await db.fetchval("SELECT count(*) FROM seat_holds") == 0


async def test_claim_of_an_assigned_seat_or_a_seated_passenger_is_409(
    db: asyncpg.Connection, flight: int
) -> None:
    first, [seated] = await add_booking(db, BOB)
    second, [other] = await add_booking(db, ALICE)
    async with db.transaction():
        await claim_seats(db, user_id=BOB, flight_id=flight, cabin="economy",
                          booking_id=first, assignments=[("18A", seated)])  # fmt: skip
    async with db.transaction():
        with pytest.raises(SeatUnavailable) as raised:
            await claim_seats(db, user_id=ALICE, flight_id=flight, cabin="economy",
                              booking_id=second, assignments=[("18A", other)])  # fmt: skip
        assert type(raised.value) is SeatUnavailable
        with pytest.raises(PassengerAlreadySeated):
            await claim_seats(db, user_id=BOB, flight_id=flight, cabin="economy",
                              booking_id=first, assignments=[("18B", seated)])  # fmt: skip
    rows = await db.fetch("SELECT seat FROM seat_assignments")
    assert [r["seat"] for r in rows] == ["18A"]


async def test_claim_of_a_seat_outside_the_cabin_is_unknown_seat_naming_the_field(
    db: asyncpg.Connection, flight: int
) -> None:
    booking_id, passengers = await add_booking(db, ALICE, passengers=2)
    with pytest.raises(UnknownSeat) as raised:
        await claim_seats(db, user_id=ALICE, flight_id=flight, cabin="economy",
                          booking_id=booking_id,
                          assignments=[("19A", passengers[0]), ("40A", passengers[1])])  # fmt: skip
    problem = raised.value.problem(422)
    assert problem["status"] == 422
    assert problem["seats"] == ["40A"]
    assert [e["field"] for e in problem["errors"]] == ["seats.1"]
    with pytest.raises(UnknownSeat):
        await claim_seats(db, user_id=ALICE, flight_id=flight, cabin="business",
                          booking_id=booking_id, assignments=[("19A", passengers[0])],
                          fields=["body.passengers.0.seat"])  # fmt: skip


async def test_release_seats_frees_a_bookings_seats_on_the_flights_asked(
    db: asyncpg.Connection, flight: int
) -> None:
    other_flight = await add_flight(db, origin="LHR", destination="JFK", number=101,
                                    aircraft_type="32N",
                                    departure=datetime.now(UTC) + timedelta(days=5))  # fmt: skip
    await add_cabin(db, other_flight)
    booking_id, [passenger] = await add_booking(db, ALICE)
    async with db.transaction():
        for flight_id in (flight, other_flight):
            await claim_seats(db, user_id=ALICE, flight_id=flight_id, cabin="economy",
                              booking_id=booking_id, assignments=[("21C", passenger)])  # fmt: skip
    assert await release_seats(db, booking_id, [other_flight]) == 1
    assert (await seat_events(db, other_flight))[-1] == {"21C": "available"}
    assert await release_seats(db, booking_id) == 1
    assert (await seat_events(db, flight))[-1] == {"21C": "available"}
    assert await db.fetchval("SELECT count(*) FROM seat_assignments") == 0


# Expiry ------------------------------------------------------------------------------


async def test_reaper_deletes_only_expired_holds_and_announces_them_available(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    await hold_seats(pool, BOB, flight, ["22A", "22B"])
    await expire_holds(db, flight)
    await hold_seats(pool, ALICE, flight, ["23A"])
    assert await reap_expired_holds(pool) == 2
    assert await reap_expired_holds(pool) == 0
    assert (await seat_events(db, flight))[-1] == {"22A": "available", "22B": "available"}
    rows = await db.fetch("SELECT seat FROM seat_holds")
    assert [r["seat"] for r in rows] == ["23A"]


async def test_hold_reaper_runs_until_cancelled(
    db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    reaper = asyncio.create_task(hold_reaper(pool, interval=0.05))
    await hold_seats(pool, BOB, flight, ["24A"])
    await expire_holds(db, flight)

    async def reaped() -> bool:
        return await db.fetchval("SELECT count(*) FROM seat_holds") == 0

    await eventually(reaped)
    reaper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reaper


async def test_hold_reaper_logs_a_failed_round_and_carries_on(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    closed = await create_pool(database_url, min_size=1, max_size=1)
    await closed.close()
    caplog.set_level(logging.WARNING, logger="domain.seating")
    reaper = asyncio.create_task(hold_reaper(closed, interval=0.01))

    async def failed_twice() -> bool:
        return sum(r.message == "seat hold reaper failed" for r in caplog.records) >= 2

    await eventually(failed_twice)
    assert not reaper.done()
    reaper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reaper


# Live seat maps ----------------------------------------------------------------------


def test_seats_topic_parses_and_rejects_garbage() -> None:
    assert parse_topic("seats:42") == seats_topic(42)
    assert seats_topic(42).private_to is None
    for garbage in ("seats:0", "seats:", "seats:12A", f"seats:{2**63}"):
        with pytest.raises(InvalidTopic):
            parse_topic(garbage)


async def test_seat_stream_starts_with_the_seat_map_then_delivers_changes(
    client: TestClient, flight: int
) -> None:
    response = await client.get(f"/v1/streams/flights/{flight}/seats")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    reader = SseReader(response)
    snapshot = await reader.next()
    assert snapshot.event == "snapshot"
    body = snapshot.json()
    assert body["flight_id"] == flight
    assert len(seats_of(body)) == 180
    held = await client.post(f"/v1/flights/{flight}/seat-holds", json={"seats": ["12A"]},
                             headers=bearer(ALICE))  # fmt: skip
    hold = await held.json()
    event = await reader.next()
    assert event.event == "seats.changed"
    assert event.json()["seats"] == {"12A": "held"}
    await client.delete(f"/v1/flights/{flight}/seat-holds/{hold['hold_id']}",
                        headers=bearer(ALICE))  # fmt: skip
    event = await reader.next()
    assert event.json()["seats"] == {"12A": "available"}
    response.close()


async def test_seat_stream_hears_nothing_of_other_flights(
    client: TestClient, db: asyncpg.Connection, pool: asyncpg.Pool, flight: int
) -> None:
    other = await add_flight(db, origin="LHR", destination="JFK", number=101,
                             aircraft_type="32N",
                             departure=datetime.now(UTC) + timedelta(days=5))  # fmt: skip
    await add_cabin(db, other)
    response = await client.get(f"/v1/streams/flights/{flight}/seats")
    reader = SseReader(response)
    assert (await reader.next()).event == "snapshot"
    await hold_seats(pool, ALICE, other, ["12A"])
    await reader.expect_silence()
    response.close()


async def test_seat_stream_of_an_unknown_flight_or_missing_layout_is_404(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await assert_problem(await client.get("/v1/streams/flights/424242/seats"), 404)
    await add_world(db)
    bare = await add_flight(db, origin="JFK", destination="LHR",
                            departure=datetime.now(UTC) + timedelta(days=1))  # fmt: skip
    body = await assert_problem(await client.get(f"/v1/streams/flights/{bare}/seats"), 404)
    assert body["type"].endswith("/seat-map-unavailable")


async def test_websocket_subscribers_get_the_seat_map_and_its_changes(
    client: TestClient, pool: asyncpg.Pool, flight: int
) -> None:
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "subscribe", "topic": f"seats:{flight}"})
        subscribed = await ws.receive_json(timeout=5)
        assert subscribed["type"] == "subscribed", subscribed
        snapshot = await ws.receive_json(timeout=5)
        assert snapshot["event"] == "snapshot"
        assert len(seats_of(snapshot["data"])) == 180
        await hold_seats(pool, BOB, flight, ["2A", "2B"])
        message = await ws.receive(timeout=5)
        assert message.type == WSMsgType.TEXT
        event = message.json()
        assert (event["topic"], event["event"]) == (f"seats:{flight}", "seats.changed")
        assert event["data"]["seats"] == {"2A": "held", "2B": "held"}
