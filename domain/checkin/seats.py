"""A free seat for a passenger who chose none, given at check-in.

Check-ins that assign seats on one flight take a transaction-scoped advisory lock per
flight, so two of them never pick the same free seat; the seat itself is then claimed
through seating.claim_seats, under the per-seat lock that bookings and holds take, so
a booking racing for that seat cannot take it too (then the next free seat is tried).
"""

from __future__ import annotations

import uuid

import asyncpg

from domain.seating import (
    SeatMapUnavailable,
    SeatUnavailable,
    claim_seats,
    flight_layout,
    seat_order,
)

_LOCK_ASSIGNMENT = "SELECT pg_advisory_xact_lock(hashtextextended('check-in-seat:' || $1, 0))"
_TAKEN = """
SELECT seat FROM seat_assignments WHERE flight_id = $1
UNION
SELECT seat FROM seat_holds WHERE flight_id = $1 AND expires_at > now()
"""
# A booking can take a seat between our read and our claim; so many tries, then give up.
_ATTEMPTS = 3


async def assign_free_seat(
    conn: asyncpg.Connection,
    *,
    flight_id: int,
    cabin: str,
    booking_id: uuid.UUID,
    passenger_id: uuid.UUID,
    user_id: uuid.UUID,
    child: bool,
) -> str | None:
    """Claim a free seat of ``cabin`` for the passenger, in the caller's transaction.

    Seats in front first; exit rows last, and never for a child. Returns the seat, None
    when the flight has no seat map (the seat is then given at the gate), and raises
    LookupError when every seat is taken.
    """
    try:
        layout = await flight_layout(conn, flight_id)
    except SeatMapUnavailable:
        return None
    cabin_layout = next((c for c in layout.cabins if c.cabin == cabin), None)
    if cabin_layout is None:
        return None
    await conn.execute(_LOCK_ASSIGNMENT, str(flight_id))
    letters = cabin_layout.seat_letters.replace(" ", "")
    rows = range(cabin_layout.first_row, cabin_layout.last_row + 1)
    candidates = sorted(
        (
            f"{row}{letter}"
            for row in rows
            for letter in letters
            if not (child and row in cabin_layout.exit_rows)
        ),
        key=lambda seat: (int(seat[:-1]) in cabin_layout.exit_rows, seat_order(seat)),
    )
    for _ in range(_ATTEMPTS):
        taken = {row["seat"] for row in await conn.fetch(_TAKEN, flight_id)}
        free = next((seat for seat in candidates if seat not in taken), None)
        if free is None:
            raise LookupError("no free seat")
        try:
            await claim_seats(
                conn,
                user_id=user_id,
                flight_id=flight_id,
                cabin=cabin,
                booking_id=booking_id,
                assignments=[(free, passenger_id)],
            )
        except SeatUnavailable:
            continue
        return free
    raise LookupError("no free seat")
