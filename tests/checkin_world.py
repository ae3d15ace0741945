"""Flights, bookings and tickets for check-in tests, written with plain SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from domain.ticketing import record_locator, ticket_number
from tests.factories import add_aircraft_cabins, add_brands, add_cabin, add_flight, add_world
from tests.tokens import access_token

ADA = ("adult", "Ada", "Lovelace", date(1985, 12, 10))
LUC = ("adult", "Luc", "Desmarais", date(1980, 5, 17))
TOM = ("child", "Tom", "Lovelace", date(2018, 4, 2))
BABY = ("infant", "Ida", "Lovelace", date(2026, 3, 1))

_serials = iter(range(100000001, 999999999))


@dataclass(frozen=True)
class Trip:
    booking_id: uuid.UUID
    owner_id: uuid.UUID
    record_locator: str
    passenger_ids: tuple[uuid.UUID, ...]
    tickets: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"/v1/bookings/{self.booking_id}"

    def headers(self) -> dict[str, str]:
        return bearer(self.owner_id)


def bearer(user_id: uuid.UUID, *roles: str) -> dict[str, str]:
    claims: dict[str, Any] = {"app_metadata": {"roles": list(roles)}} if roles else {}
    return {"Authorization": f"Bearer {access_token(user_id, **claims)}"}


async def add_checkin_world(db: asyncpg.Connection) -> None:
    """The factories' airports, Skybound Airways with its brands, and an A320 layout."""
    await add_world(db)
    await add_brands(db, "SB")
    await add_aircraft_cabins(db)


async def add_leg(
    db: asyncpg.Connection,
    origin: str,
    destination: str,
    departure: datetime,
    *,
    number: int = 100,
    seat_map: bool = True,
    **fields: Any,
) -> int:
    """A leg with an economy cabin, on an A320 with a seat map unless ``seat_map`` is off."""
    flight = await add_flight(db, origin=origin, destination=destination, departure=departure,
                              number=number, block=timedelta(hours=2),
                              aircraft_type="32N" if seat_map else None, **fields)  # fmt: skip
    await add_cabin(db, flight, capacity=180)
    return flight


async def add_trip(
    db: asyncpg.Connection,
    flights: list[int],
    passengers: list[tuple[str, str, str, date]] = [ADA],  # noqa: B006 (never mutated)
    *,
    seats: dict[tuple[int, int], str] | None = None,
    brand: str = "SB_ECO_STANDARD",
) -> Trip:
    """A confirmed booking of ``flights`` (in travel order) with a ticket per passenger;
    ``seats``: (passenger index, flight id) -> seat chosen at booking."""
    owner = uuid.uuid4()
    await db.execute("INSERT INTO profiles (user_id, email) VALUES ($1, 'owner@example.com')",
                     owner)  # fmt: skip
    locator = record_locator()
    booking: uuid.UUID = await db.fetchval(
        """INSERT INTO bookings (record_locator, user_id, total_minor, currency)
           VALUES ($1, $2, 50000, 'USD') RETURNING id""",
        locator, owner,
    )  # fmt: skip
    await db.executemany(
        """INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin,
                                         fare_brand)
           VALUES ($1, $2, 1, $3, 'economy', $4)""",
        [(booking, n, flight, brand) for n, flight in enumerate(flights, 1)],
    )  # fmt: skip
    ids, tickets = [], []
    for n, (kind, given, family, born) in enumerate(passengers, 1):
        passenger = await db.fetchval(
            """INSERT INTO passengers (booking_id, passenger_no, passenger_type, given_name,
                                       family_name, date_of_birth)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
            booking, n, kind, given, family, born,
        )  # fmt: skip
        number = ticket_number("901", next(_serials))
        await db.execute(
            "INSERT INTO tickets (ticket_number, booking_id, passenger_id) VALUES ($1, $2, $3)",
            number, booking, passenger,
        )  # fmt: skip
        ids.append(passenger)
        tickets.append(number)
    for (index, flight), seat in (seats or {}).items():
        await db.execute(
            """INSERT INTO seat_assignments (flight_id, seat, booking_id, passenger_id)
               VALUES ($1, $2, $3, $4)""",
            flight, seat, booking, ids[index],
        )  # fmt: skip
    return Trip(booking, owner, locator, tuple(ids), tuple(tickets))


def passport(passenger_no: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid passport of Ada Lovelace (passenger 1 by default)."""
    return {
        "passenger_no": passenger_no,
        "document_type": "passport",
        "number": "X1234567",
        "expires_on": "2035-01-31",
        "nationality": "GB",
        "date_of_birth": "1985-12-10",
        "gender": "F",
        **overrides,
    }
