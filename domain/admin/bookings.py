"""Bookings for agents: find them by record locator, passenger, flight, travel date or
user, newest first. (One booking whole is ``domain.bookings.queries.get_booking``,
which already lets staff read any booking.)"""

from __future__ import annotations

import base64
import uuid
from datetime import date, datetime
from typing import Any

import asyncpg
import orjson

from domain.admin.patterns import like_prefix
from domain.bookings.models import BookingPage
from domain.bookings.queries import summary_from_row
from foundation.errors import FieldError, ValidationFailed

_SELECT = """
SELECT b.id, b.record_locator, b.status, b.total_minor, b.currency, b.created_at,
       first_leg.origin, first_leg.scheduled_departure AS departure, o.time_zone AS origin_tz,
       last_leg.destination, last_leg.scheduled_arrival AS arrival,
       d.time_zone AS destination_tz,
       (SELECT count(*) FROM passengers p WHERE p.booking_id = b.id) AS passengers
FROM bookings b
CROSS JOIN LATERAL (
    SELECT f.origin, f.scheduled_departure FROM booking_segments s
    JOIN flights f ON f.id = s.flight_id
    WHERE s.booking_id = b.id ORDER BY s.segment_no LIMIT 1) AS first_leg
CROSS JOIN LATERAL (
    SELECT f.destination, f.scheduled_arrival FROM booking_segments s
    JOIN flights f ON f.id = s.flight_id
    WHERE s.booking_id = b.id ORDER BY s.segment_no DESC LIMIT 1) AS last_leg
JOIN airports o ON o.iata = first_leg.origin
JOIN airports d ON d.iata = last_leg.destination
"""

# One fixed fragment per filter, so each combination gets a plan of its own (a generic
# "$1 IS NULL OR ..." plan would scan every booking); values are always parameters.
_FILTERS = {
    "locator": "b.record_locator = ${n}",
    "passenger": """EXISTS (SELECT 1 FROM passengers p WHERE p.booking_id = b.id
                              AND lower(p.family_name) LIKE ${n})""",
    "flight_id": """EXISTS (SELECT 1 FROM booking_segments s WHERE s.booking_id = b.id
                              AND s.flight_id = ${n})""",
    "travel_date": """EXISTS (SELECT 1 FROM booking_segments s JOIN flights f
                                ON f.id = s.flight_id
                              WHERE s.booking_id = b.id AND f.service_date = ${n})""",
    "user_id": "b.user_id = ${n}",
}
_AFTER = "(b.created_at, b.id) < (${n}, ${m})"


def _encode_cursor(created_at: datetime, booking_id: uuid.UUID) -> str:
    raw = orjson.dumps([created_at.isoformat(), str(booking_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, booking_id = orjson.loads(raw)
        return datetime.fromisoformat(created_at), uuid.UUID(booking_id)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise ValidationFailed(
            [FieldError("cursor", "Not a cursor of this listing.", "invalid_cursor")]
        ) from None


async def find_bookings(
    pool: asyncpg.Pool,
    *,
    locator: str | None = None,
    passenger: str | None = None,
    flight_id: int | None = None,
    travel_date: date | None = None,
    user_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> BookingPage:
    """Bookings matching every filter given (a passenger's family name matches by its
    start, in any case), newest first, ``limit`` at a time."""
    given: dict[str, Any] = {
        "locator": locator,
        "passenger": like_prefix(passenger) if passenger else None,
        "flight_id": flight_id,
        "travel_date": travel_date,
        "user_id": user_id,
    }
    conditions: list[str] = []
    params: list[Any] = []
    for name, value in given.items():
        if value is not None:
            params.append(value)
            conditions.append(_FILTERS[name].format(n=len(params)))
    if cursor is not None:
        params.extend(_decode_cursor(cursor))
        conditions.append(_AFTER.format(n=len(params) - 1, m=len(params)))
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    params.append(limit + 1)
    rows = await pool.fetch(
        f"{_SELECT} {where} ORDER BY b.created_at DESC, b.id DESC LIMIT ${len(params)}", *params
    )
    summaries = [summary_from_row(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = _encode_cursor(last["created_at"], last["id"])
    return BookingPage(bookings=summaries, next_cursor=next_cursor)
