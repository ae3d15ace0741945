"""The sync benchmark's data, written by SQL as another service would: a traveller with
trips, saved travellers and notes, and the flight churn that makes changes to pull."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass

import asyncpg

from domain.ticketing import record_locator, ticket_number

# Future economy legs of the seeded schedule with a fare brand and a ticketing prefix.
_FLIGHTS = """
SELECT f.id, f.carrier, a.ticket_prefix,
       (SELECT b.code FROM fare_brands b WHERE b.carrier = f.carrier AND b.cabin = 'economy'
        ORDER BY b.price_pct LIMIT 1) AS brand
FROM flights f
JOIN airlines a ON a.code = f.carrier
JOIN flight_cabins c ON c.flight_id = f.id AND c.cabin = 'economy'
WHERE f.scheduled_departure > now() + interval '1 day' AND f.status = 'scheduled'
ORDER BY f.id
LIMIT $1
"""


@dataclass(frozen=True, slots=True)
class World:
    user_id: uuid.UUID
    flights: list[int]
    bookings: list[uuid.UUID]


async def make_user(conn: asyncpg.Connection, trips: int, seed: int = 7) -> World:
    """A user with ``trips`` bookings of two passengers and two legs each (four seats, two
    tickets, one payment), 20 saved travellers, a note on every fourth trip, preferences."""
    rng = random.Random(seed)
    user = uuid.uuid4()
    rows = await conn.fetch(_FLIGHTS, trips * 2)
    if len(rows) < trips * 2:
        raise RuntimeError(f"the seeded schedule has only {len(rows)} future economy legs")
    await conn.execute("INSERT INTO profiles (user_id, email) VALUES ($1, $2)", user,
                       f"{user.hex[:8]}@bench.invalid")  # fmt: skip
    await conn.execute(
        """INSERT INTO user_preferences (user_id, seat, meal) VALUES ($1, 'aisle', 'vegan')""",
        user,
    )
    bookings = []
    async with conn.transaction():
        for i in range(trips):
            legs = rows[2 * i : 2 * i + 2]
            fare = {"brand": "Standard", "cabin": "economy", "fare_minor": 52000,
                    "seats_minor": 0, "refundable": False, "changeable": True,
                    "change_fee_minor": 7500, "cancellation_fee_minor": 0}  # fmt: skip
            booking = await conn.fetchval(
                """INSERT INTO bookings (record_locator, user_id, total_minor, currency,
                                         contact_email, fare)
                   VALUES ($1, $2, 52000, 'USD', 'bench@example.com', $3::jsonb)
                   RETURNING id""",
                record_locator(), user, json.dumps(fare),
            )  # fmt: skip
            bookings.append(booking)
            passengers = []
            names = (("Ada", "Lovelace"), ("Charles", "Babbage"))
            for number, (given, family) in enumerate(names, start=1):
                passengers.append(await conn.fetchval(
                    """INSERT INTO passengers (booking_id, passenger_no, passenger_type,
                                               given_name, family_name, date_of_birth)
                       VALUES ($1, $2, 'adult', $3, $4, '1985-12-10') RETURNING id""",
                    booking, number, given, family,
                ))  # fmt: skip
            for segment, leg in enumerate(legs, start=1):
                await conn.execute(
                    """INSERT INTO booking_segments (booking_id, segment_no, slice_no,
                                                     flight_id, cabin, fare_brand)
                       VALUES ($1, $2, $2, $3, 'economy', $4)""",
                    booking, segment, leg["id"], leg["brand"],
                )  # fmt: skip
                for passenger in passengers:
                    await conn.execute(
                        """INSERT INTO seat_assignments (flight_id, seat, booking_id,
                                                         passenger_id)
                           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
                        leg["id"], f"{rng.randint(1, 30)}{rng.choice('ABCDEF')}", booking,
                        passenger,
                    )  # fmt: skip
            for passenger in passengers:
                serial = await conn.fetchval("SELECT nextval('ticket_serial_seq')")
                await conn.execute(
                    "INSERT INTO tickets (ticket_number, booking_id, passenger_id) "
                    "VALUES ($1, $2, $3)",
                    ticket_number(legs[0]["ticket_prefix"], serial), booking, passenger,
                )  # fmt: skip
            await conn.execute(
                """INSERT INTO payments (booking_id, kind, amount_minor, currency, status,
                                         provider, provider_ref)
                   VALUES ($1, 'charge', 52000, 'USD', 'succeeded', 'simulated', $2)""",
                booking, f"bench-{booking}",
            )  # fmt: skip
            if i % 4 == 0:
                await conn.execute(
                    """INSERT INTO trip_notes (user_id, id, booking_id, title, body,
                                               field_clocks)
                       VALUES ($1, $2, $3, 'Trip', 'Remember the adapter',
                               '{"title": "1764077191102:0000:bench"}')""",
                    user, uuid.uuid4(), booking,
                )  # fmt: skip
        for _ in range(20):
            await conn.execute(
                """INSERT INTO travelers (user_id, id, given_name, family_name, date_of_birth,
                                          nationality, passport_number)
                   VALUES ($1, $2, 'Grace', 'Hopper', '1906-12-09', 'US', 'X1234567')""",
                user, uuid.uuid4(),
            )  # fmt: skip
    return World(user, [r["id"] for r in rows], bookings)


async def churn_flights(conn: asyncpg.Connection, flights: list[int], updates: int) -> None:
    """``updates`` gate changes spread over ``flights``, a few hundred per statement, as an
    operations system would write them; each is a flight event and a notification."""
    done = 0
    round_no = 0
    while done < updates:
        batch = flights[: min(len(flights), updates - done)]
        round_no += 1
        await conn.execute(
            # A gate no seeded flight has, new every round: every row changes.
            "UPDATE flights SET departure_gate = 'Z' || $2::int WHERE id = ANY($1)",
            batch, round_no,
        )  # fmt: skip
        done += len(batch)


async def user_events_after(conn: asyncpg.Connection, user: uuid.UUID, after: int) -> int:
    return int(await conn.fetchval(
        "SELECT count(*) FROM change_events WHERE id > $1 AND topics @> ARRAY[$2::text]",
        after, f"user:{user}",
    ))  # fmt: skip
