"""EMDs: the documents that sell a paid seat (and, in time, other services), apart from the
ticket that sells the flight.

One EMD per passenger per paid seat, numbered under the validating carrier's accounting
code from their own range (``emd_serial_seq``), for the seat's price in the selling
currency. They follow their own rules, not the fare's: a seat is refunded only when the
whole booking is (the airline cancelled a flight, or the free first day; voided instead
on its day of issue), kept (non-refundable, unused) otherwise; a seat changed to another paid
seat exchanges the old EMD for a new one of the difference; departure uses it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class SeatSale:
    passenger_id: uuid.UUID
    flight_id: int
    seat: str
    amount_minor: int


# Numbered under the validating carrier: the carrier of the booking's first segment.
_ISSUE = """
INSERT INTO emds (emd_number, booking_id, passenger_id, description, flight_id, seat,
                  amount_minor, currency)
SELECT a.ticket_prefix || lpad(nextval('emd_serial_seq')::text, 10, '0'), $1, x.p,
       'Seat ' || x.s || ' ' || fl.carrier || fl.flight_number, x.f, x.s, x.a, $2
FROM unnest($3::uuid[], $4::bigint[], $5::text[], $6::bigint[]) AS x(p, f, s, a)
JOIN flights fl ON fl.id = x.f
JOIN airlines a ON a.code = (SELECT f.carrier FROM booking_segments s
                             JOIN flights f ON f.id = s.flight_id
                             WHERE s.booking_id = $1 ORDER BY s.segment_no LIMIT 1)
WHERE x.a > 0
"""


async def issue_seat_emds(
    conn: asyncpg.Connection, booking_id: uuid.UUID, currency: str, sales: Sequence[SeatSale]
) -> None:
    """An EMD for each paid seat (free seats get none)."""
    if not any(sale.amount_minor for sale in sales):
        return
    await conn.execute(
        _ISSUE, booking_id, currency,
        [s.passenger_id for s in sales], [s.flight_id for s in sales], [s.seat for s in sales],
        [s.amount_minor for s in sales],
    )  # fmt: skip


async def exchange_seat_emds(
    conn: asyncpg.Connection, booking_id: uuid.UUID, moved: Sequence[tuple[uuid.UUID, int]]
) -> None:
    """The open seat EMDs of passengers moved to another seat on a flight are exchanged."""
    await conn.execute(
        """UPDATE emds e SET status = 'exchanged'
           FROM unnest($2::uuid[], $3::bigint[]) AS x(p, f)
           WHERE e.booking_id = $1 AND e.passenger_id = x.p AND e.flight_id = x.f
             AND e.status = 'open'""",
        booking_id, [p for p, _ in moved], [f for _, f in moved],
    )  # fmt: skip


async def settle_emds_on_cancellation(
    conn: asyncpg.Connection, booking_id: uuid.UUID, *, refunded: bool, now: datetime
) -> None:
    """When the booking is refunded in full: void on the EMD's day of issue, refunded
    after. Otherwise kept: an unused, non-refundable seat."""
    if not refunded:
        return
    await conn.execute(
        """UPDATE emds
           SET status = CASE WHEN (issued_at AT TIME ZONE 'UTC')::date
                                  = ($2::timestamptz AT TIME ZONE 'UTC')::date THEN 'void'
                             ELSE 'refunded' END
           WHERE booking_id = $1 AND status = 'open'""",
        booking_id, now,
    )  # fmt: skip
