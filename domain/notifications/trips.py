"""What a trip email shows, read from the booking and flight tables when it is sent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from domain.times import zone

# Boarding starts this long before departure (a typical narrow-body figure); a
# carrier-specific time belongs to check-in's boarding passes.
BOARDING_BEFORE_DEPARTURE = timedelta(minutes=40)


@dataclass(frozen=True, slots=True)
class Airport:
    iata: str
    city: str
    name: str


@dataclass(frozen=True, slots=True)
class Leg:
    """One flight of a trip; times are aware, in the zone of their airport."""

    segment_no: int
    flight_id: int
    carrier: str
    carrier_name: str
    flight_number: int
    origin: Airport
    destination: Airport
    scheduled_departure: datetime
    departure: datetime  # the estimated departure when there is one
    arrival: datetime
    status: str
    departure_terminal: str | None
    departure_gate: str | None
    cabin: str
    seats: tuple[str, ...]

    @property
    def designator(self) -> str:
        return f"{self.carrier}{self.flight_number}"

    @property
    def delay(self) -> timedelta:
        return self.departure - self.scheduled_departure

    @property
    def boarding(self) -> datetime:
        return self.departure - BOARDING_BEFORE_DEPARTURE


@dataclass(frozen=True, slots=True)
class Trip:
    booking_id: uuid.UUID
    record_locator: str
    status: str
    total_minor: int
    currency: str
    contact_email: str | None
    passengers: tuple[str, ...]
    legs: tuple[Leg, ...]

    def leg(self, flight_id: int) -> Leg | None:
        return next((leg for leg in self.legs if leg.flight_id == flight_id), None)

    @property
    def lead_passenger(self) -> str:
        """Whom a message greets: the first passenger, who booked for the others."""
        return self.passengers[0] if self.passengers else ""


_BOOKING = """
SELECT b.id, b.record_locator, b.status, b.total_minor, b.currency, b.contact_email,
       array(SELECT p.given_name || ' ' || p.family_name FROM passengers p
             WHERE p.booking_id = b.id ORDER BY p.passenger_no) AS passengers
FROM bookings b WHERE b.id = $1
"""
_LEGS = """
SELECT s.segment_no, s.cabin, f.id AS flight_id, f.carrier, al.name AS carrier_name,
       f.flight_number, f.status, f.scheduled_departure,
       coalesce(f.estimated_departure, f.scheduled_departure) AS departure,
       coalesce(f.estimated_arrival, f.scheduled_arrival) AS arrival,
       f.departure_terminal, f.departure_gate,
       f.origin, o.city AS origin_city, o.name AS origin_name, o.time_zone AS origin_zone,
       f.destination, d.city AS destination_city, d.name AS destination_name,
       d.time_zone AS destination_zone,
       array(SELECT sa.seat FROM seat_assignments sa
             JOIN passengers p ON p.id = sa.passenger_id
             WHERE sa.booking_id = s.booking_id AND sa.flight_id = f.id
             ORDER BY p.passenger_no) AS seats
FROM booking_segments s
JOIN flights f ON f.id = s.flight_id
JOIN airlines al ON al.code = f.carrier
JOIN airports o ON o.iata = f.origin
JOIN airports d ON d.iata = f.destination
WHERE s.booking_id = $1
ORDER BY s.segment_no
"""


def _leg(row: asyncpg.Record) -> Leg:
    origin_zone, destination_zone = zone(row["origin_zone"]), zone(row["destination_zone"])
    return Leg(
        segment_no=row["segment_no"],
        flight_id=row["flight_id"],
        carrier=row["carrier"],
        carrier_name=row["carrier_name"],
        flight_number=row["flight_number"],
        origin=Airport(row["origin"], row["origin_city"], row["origin_name"]),
        destination=Airport(row["destination"], row["destination_city"], row["destination_name"]),
        scheduled_departure=row["scheduled_departure"].astimezone(origin_zone),
        departure=row["departure"].astimezone(origin_zone),
        arrival=row["arrival"].astimezone(destination_zone),
        status=row["status"],
        departure_terminal=row["departure_terminal"],
        departure_gate=row["departure_gate"],
        cabin=row["cabin"],
        seats=tuple(row["seats"]),
    )


async def load_trip(conn: asyncpg.Connection | asyncpg.Pool, booking_id: uuid.UUID) -> Trip | None:
    """The booking with its legs as they are now, or None once it is gone."""
    row = await conn.fetchrow(_BOOKING, booking_id)
    if row is None:
        return None
    legs = await conn.fetch(_LEGS, booking_id)
    return Trip(
        booking_id=row["id"],
        record_locator=row["record_locator"],
        status=row["status"],
        total_minor=row["total_minor"],
        currency=row["currency"],
        contact_email=row["contact_email"],
        passengers=tuple(row["passengers"]),
        legs=tuple(_leg(leg) for leg in legs),
    )


def quote_amounts(details: dict[str, Any] | None) -> tuple[int, int]:
    """(charged, refunded) minor units of a confirmed change or cancellation quote."""
    if not details:
        return 0, 0
    return int(details.get("charge_minor", 0)), int(details.get("refund_minor", 0))
