"""Boarding passes: read from the check-ins of live tickets, with their BCBP strings.

A pass exists while its passenger is checked in on a segment the booking still has,
the booking is confirmed and the passenger holds a live ticket. Seat, gate, departure
and boarding time are read live: a seat changed after check-in, a gate change or a
delay show on the pass at its next read.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

import asyncpg

from domain.checkin.models import BoardingPassView
from domain.receipts import LIVE_TICKET_STATUSES
from domain.ticketing import (
    CHECKED_IN,
    PASSENGER_DESCRIPTIONS,
    BcbpConditional,
    BoardingPass,
)
from domain.times import Instant, zone

# Boarding begins this long before departure.
BOARDING_BEGINS = timedelta(minutes=40)

_PASSES = """
SELECT c.passenger_id, c.flight_id, c.sequence_no, a.seat, c.selectee, c.checked_in_at,
       c.version, b.id AS booking_id, b.record_locator, b.user_id,
       p.passenger_no, p.passenger_type, p.given_name, p.family_name,
       t.ticket_number, s.segment_no, s.cabin, brand.checked_bags,
       al.name AS carrier_name, f.carrier, f.flight_number, f.service_date, f.origin, f.destination,
       coalesce(f.estimated_departure, f.scheduled_departure) AS departure,
       f.departure_gate, f.departure_terminal,
       o.time_zone AS origin_tz, o.country <> d.country AS international,
       ac.first_row, ac.last_row
FROM check_ins c
JOIN bookings b ON b.id = c.booking_id
JOIN passengers p ON p.id = c.passenger_id
JOIN booking_segments s ON s.booking_id = c.booking_id AND s.flight_id = c.flight_id
JOIN flights f ON f.id = c.flight_id
JOIN airlines al ON al.code = f.carrier
JOIN airports o ON o.iata = f.origin
JOIN airports d ON d.iata = f.destination
JOIN fare_brands brand ON brand.code = s.fare_brand
JOIN LATERAL (SELECT tk.ticket_number FROM tickets tk
              WHERE tk.passenger_id = p.id AND tk.status = ANY($3::text[])
              ORDER BY tk.issued_at DESC, tk.ticket_number DESC LIMIT 1) t ON true
LEFT JOIN seat_assignments a ON a.flight_id = c.flight_id AND a.passenger_id = c.passenger_id
LEFT JOIN aircraft_cabins ac ON ac.aircraft_type = f.aircraft_type AND ac.cabin = s.cabin
WHERE c.status = 'checked_in' AND b.status = 'confirmed'
  AND ($1::uuid IS NULL OR c.booking_id = $1)
  AND ($2::text[] IS NULL OR c.passenger_id::text || ':' || c.flight_id = ANY($2::text[]))
  AND ($4::uuid IS NULL OR b.user_id = $4)
ORDER BY b.id, s.segment_no, p.passenger_no
"""


def pass_id(passenger_id: uuid.UUID, flight_id: int) -> str:
    """A boarding pass's id in the change log and in sync: passenger and flight."""
    return f"{passenger_id}:{flight_id}"


def pdf_url(booking_id: uuid.UUID | str, segment_no: int, passenger_no: int) -> str:
    return f"/v1/bookings/{booking_id}/boarding-passes/{segment_no}/{passenger_no}.pdf"


def boarding_zone(cabin: str, seat: str | None, first_row: int | None, last_row: int | None) -> str:
    """Front cabins first; economy from the back half forward; unseated last."""
    if cabin in ("first", "business"):
        return "1"
    if cabin == "premium_economy":
        return "2"
    if seat is None or first_row is None or last_row is None:
        return "5"
    row = int(seat[:-1])
    return "3" if row > (first_row + last_row) // 2 else "4"


def bcbp_of(row: asyncpg.Record) -> str:
    ticket: str = row["ticket_number"]
    issued_on = row["checked_in_at"].astimezone(zone(row["origin_tz"])).date()
    bags = row["checked_bags"]
    boarding = BoardingPass(
        family_name=row["family_name"],
        given_name=row["given_name"],
        record_locator=row["record_locator"],
        origin=row["origin"],
        destination=row["destination"],
        carrier=row["carrier"].strip(),
        flight_number=row["flight_number"],
        flight_date=row["service_date"],
        cabin=row["cabin"],
        seat=row["seat"],
        sequence=row["sequence_no"],
        status=CHECKED_IN,
        conditional=BcbpConditional(
            passenger_description=PASSENGER_DESCRIPTIONS.get(row["passenger_type"], "0"),
            issued_on=issued_on,
            issuer=row["carrier"].strip(),
            airline_numeric_code=ticket[:3],
            document_number=ticket[3:],
            selectee=row["selectee"],
            documents_required=row["international"],
            # Skybound sells its own flights: the marketing carrier is the operating one.
            marketing_carrier=row["carrier"].strip(),
            free_baggage=f"{bags}PC" if 0 < bags < 10 else "",
        ),
    )
    return boarding.bcbp()


def view_of(row: asyncpg.Record) -> BoardingPassView:
    departure: datetime = row["departure"]
    tz = row["origin_tz"]
    return BoardingPassView(
        passenger_no=row["passenger_no"],
        passenger_type=row["passenger_type"],
        given_name=row["given_name"],
        family_name=row["family_name"],
        segment_no=row["segment_no"],
        flight_id=row["flight_id"],
        designator=f"{row['carrier'].strip()}{row['flight_number']}",
        airline=row["carrier_name"],
        record_locator=row["record_locator"],
        origin=row["origin"],
        destination=row["destination"],
        departure=Instant.of(departure, tz),
        boarding_time=Instant.of(departure - BOARDING_BEGINS, tz),
        gate=row["departure_gate"],
        terminal=row["departure_terminal"],
        cabin=row["cabin"],
        seat=row["seat"],
        zone=boarding_zone(row["cabin"], row["seat"], row["first_row"], row["last_row"]),
        sequence=row["sequence_no"],
        ticket_number=row["ticket_number"],
        checked_in_at=row["checked_in_at"],
        bcbp=bcbp_of(row),
        pdf_url=pdf_url(row["booking_id"], row["segment_no"], row["passenger_no"]),
    )


async def boarding_pass_rows(
    conn: asyncpg.Connection | asyncpg.Pool,
    booking_id: uuid.UUID | None = None,
    ids: Collection[str] | None = None,
    owner: uuid.UUID | None = None,
) -> Sequence[asyncpg.Record]:
    """Rows of the live boarding passes of a booking, of the passes with these ids, or of
    an owner's bookings (each filter applies when given)."""
    wanted = list(ids) if ids is not None else None
    rows: list[asyncpg.Record] = await conn.fetch(
        _PASSES, booking_id, wanted, list(LIVE_TICKET_STATUSES), owner
    )
    return rows


async def boarding_passes(
    conn: asyncpg.Connection | asyncpg.Pool, booking_id: uuid.UUID
) -> list[BoardingPassView]:
    return [view_of(row) for row in await boarding_pass_rows(conn, booking_id)]
