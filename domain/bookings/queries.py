"""Reading bookings: one booking whole, and a user's bookings a page at a time."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, Literal

import asyncpg
import orjson

from domain.bookings.errors import BookingNotFound
from domain.bookings.fares import price_lines
from domain.bookings.models import (
    BookedPassenger,
    BookedSegment,
    Booking,
    BookingContact,
    BookingPage,
    BookingSummary,
    Emd,
    FareSummary,
    PaymentRecord,
    SeatAssignment,
    Ticket,
)
from domain.search.models import Money
from domain.times import Instant
from foundation.errors import FieldError, ValidationFailed

# Staff who may read any booking.
BOOKING_READERS = frozenset({"agent", "admin"})

# One round trip: the booking with its passengers, tickets, segments, seats and payments.
_BOOKING = """
SELECT b.id, b.record_locator, b.status, b.user_id, b.total_minor, b.currency, b.fare,
       b.contact_email, b.contact_phone, b.created_at, b.updated_at, b.cancelled_at,
       b.cancellation_reason, b.version,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', p.id, 'passenger_no', p.passenger_no, 'type', p.passenger_type,
                   'given_name', p.given_name, 'family_name', p.family_name,
                   'date_of_birth', p.date_of_birth, 'email', p.email, 'phone', p.phone,
                   'accompanied_by', p.accompanied_by,
                   'tickets', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                          'ticket_number', t.ticket_number, 'status', t.status,
                                          'coupons', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                                          'coupon_no', c.coupon_no,
                                                          'document_number', c.document_number,
                                                          'segment_no', c.segment_no,
                                                          'flight_id', c.flight_id,
                                                          'status', c.status)
                                                      ORDER BY c.coupon_no), '[]')
                                                      FROM ticket_coupons c
                                                     WHERE c.ticket_number = t.ticket_number))
                                      ORDER BY t.issued_at, t.ticket_number), '[]')
                                 FROM tickets t WHERE t.passenger_id = p.id),
                   'emds', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                       'emd_number', e.emd_number, 'description', e.description,
                                       'flight_id', e.flight_id, 'seat', e.seat,
                                       'amount_minor', e.amount_minor, 'currency', e.currency,
                                       'status', e.status, 'issued_at', e.issued_at)
                                   ORDER BY e.issued_at, e.emd_number), '[]')
                              FROM emds e WHERE e.passenger_id = p.id))
               ORDER BY p.passenger_no), '[]')
          FROM passengers p WHERE p.booking_id = b.id) AS passengers,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'segment_no', s.segment_no, 'slice_no', s.slice_no, 'flight_id', f.id,
                   'carrier', f.carrier, 'flight_number', f.flight_number,
                   'origin', f.origin, 'destination', f.destination,
                   'departure', f.scheduled_departure, 'arrival', f.scheduled_arrival,
                   'origin_tz', o.time_zone, 'destination_tz', d.time_zone,
                   'cabin', s.cabin, 'fare_brand', s.fare_brand, 'flight_status', f.status,
                   'booking_class', s.booking_class, 'fare_basis', s.fare_basis,
                   'carrier_name', al.name,
                   'marketing', rtrim(cs.marketing_carrier) || cs.marketing_number,
                   'seats', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                        'passenger_no', p.passenger_no, 'seat', a.seat)
                                    ORDER BY p.passenger_no), '[]')
                               FROM seat_assignments a
                               JOIN passengers p ON p.id = a.passenger_id
                              WHERE a.flight_id = s.flight_id AND a.booking_id = b.id))
               ORDER BY s.segment_no), '[]')
          FROM booking_segments s
          JOIN flights f ON f.id = s.flight_id
          JOIN airlines al ON al.code = f.carrier
          JOIN airports o ON o.iata = f.origin
          JOIN airports d ON d.iata = f.destination
          -- The seller (the first segment's carrier) found once, not per segment.
          CROSS JOIN (SELECT f1.carrier FROM booking_segments s1
                        JOIN flights f1 ON f1.id = s1.flight_id
                       WHERE s1.booking_id = b.id
                       ORDER BY s1.segment_no LIMIT 1) seller
          LEFT JOIN codeshares cs
                 ON cs.flight_id = f.id AND cs.marketing_carrier = seller.carrier
         WHERE s.booking_id = b.id) AS segments,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', pay.id, 'kind', pay.kind, 'amount_minor', pay.amount_minor,
                   'currency', pay.currency, 'status', pay.status, 'provider', pay.provider,
                   'card_brand', pay.card_brand, 'card_last4', pay.card_last4,
                   'reason', pay.reason, 'created_at', pay.created_at)
               ORDER BY pay.created_at, pay.id), '[]')
          FROM payments pay WHERE pay.booking_id = b.id) AS payments
FROM bookings b
WHERE b.id = $1
"""


_USER_BOOKINGS = _BOOKING.replace("WHERE b.id = $1", "WHERE b.user_id = $1 ORDER BY b.created_at")
# The archive (domain/bookings/archive.py) stores bookings as this query reads them.
BOOKING_SQL = _BOOKING


# A booking as the change and cancellation rules see it: its fare, what was paid, its
# passengers, slices and segments, when it first flies and whether the airline cancelled
# a flight of it. Read again inside the confirming transaction, with the row locked.
BOOKING_STATE = """
SELECT b.id, b.user_id, b.status, b.version, b.created_at, b.currency, b.fare, b.total_minor,
       (SELECT count(*) FROM passengers p WHERE p.booking_id = b.id) AS passengers,
       (SELECT min(f.scheduled_departure) FROM booking_segments s
          JOIN flights f ON f.id = s.flight_id WHERE s.booking_id = b.id) AS first_departure,
       (SELECT bool_or(f.status = 'cancelled') FROM booking_segments s
          JOIN flights f ON f.id = s.flight_id WHERE s.booking_id = b.id) AS airline_cancelled,
       (SELECT array_agg(p.passenger_type ORDER BY p.passenger_no) FROM passengers p
         WHERE p.booking_id = b.id) AS passenger_types,
       (SELECT array_agg(p.id ORDER BY p.passenger_no) FROM passengers p
         WHERE p.booking_id = b.id) AS passenger_ids,
       (SELECT array_agg(p.accompanied_by ORDER BY p.passenger_no) FROM passengers p
         WHERE p.booking_id = b.id) AS passenger_escorts,
       (SELECT jsonb_agg(jsonb_build_object('slice_no', x.slice_no, 'origin', x.origin,
                                            'destination', x.destination) ORDER BY x.slice_no)
          FROM (SELECT s.slice_no,
                       (array_agg(f.origin ORDER BY s.segment_no))[1] AS origin,
                       (array_agg(f.destination ORDER BY s.segment_no DESC))[1] AS destination
                  FROM booking_segments s JOIN flights f ON f.id = s.flight_id
                 WHERE s.booking_id = b.id GROUP BY s.slice_no) x) AS slices,
       (SELECT jsonb_agg(jsonb_build_object('flight_id', s.flight_id, 'cabin', s.cabin))
          FROM booking_segments s WHERE s.booking_id = b.id) AS segments
FROM bookings b WHERE b.id = $1
"""


def document_url(booking_id: uuid.UUID | str, ticket_number: str) -> str:
    return f"/v1/bookings/{booking_id}/documents/{ticket_number}.pdf"


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _fare(fare: dict[str, Any], money: Callable[[int], Money]) -> FareSummary | None:
    if not fare:  # bookings made before fares were recorded on them
        return None
    return FareSummary(
        brand=fare["brand"],
        cabin=fare["cabin"],
        fare=money(fare["fare_minor"]),
        taxes=money(fare.get("taxes_minor", 0)),
        price_breakdown=price_lines(fare, money),
        seats=money(fare["seats_minor"]),
        refundable=fare["refundable"],
        changeable=fare["changeable"],
        change_fee=money(fare["change_fee_minor"]),
        cancellation_fee=money(fare["cancellation_fee_minor"]),
    )


def booking_from_row(row: asyncpg.Record) -> Booking:
    currency = row["currency"]
    fare: dict[str, Any] = row["fare"]

    def money(amount: int) -> Money:
        return Money(amount_minor=amount, currency=currency)

    passengers = [
        BookedPassenger(
            **{k: v for k, v in p.items() if k not in ("tickets", "emds")},
            tickets=[
                Ticket(**t, document_url=document_url(row["id"], t["ticket_number"]))
                for t in p["tickets"]
            ],
            emds=[
                Emd(
                    **{
                        k: v
                        for k, v in e.items()
                        if k not in ("amount_minor", "currency", "issued_at")
                    },
                    amount=Money(amount_minor=e["amount_minor"], currency=e["currency"]),
                    issued_at=_when(e["issued_at"]),
                )
                for e in p["emds"]
            ],
        )
        for p in row["passengers"]
    ]
    segments = [
        BookedSegment(
            segment_no=s["segment_no"],
            slice_no=s["slice_no"],
            flight_id=s["flight_id"],
            designator=s["marketing"] or f"{s['carrier']}{s['flight_number']}",
            operated_by=s["carrier_name"] if s["marketing"] else None,
            origin=s["origin"],
            destination=s["destination"],
            departure=Instant.of(_when(s["departure"]), s["origin_tz"]),
            arrival=Instant.of(_when(s["arrival"]), s["destination_tz"]),
            cabin=s["cabin"],
            fare_brand=s["fare_brand"],
            booking_class=s["booking_class"],
            fare_basis=s["fare_basis"],
            flight_status=s["flight_status"],
            seats=[SeatAssignment(**seat) for seat in s["seats"]],
        )
        for s in row["segments"]
    ]
    payments = [
        PaymentRecord(
            id=p["id"],
            kind=p["kind"],
            amount=Money(amount_minor=p["amount_minor"], currency=p["currency"]),
            status=p["status"],
            provider=p["provider"],
            card_brand=p["card_brand"],
            card_last4=p["card_last4"],
            reason=p["reason"],
            created_at=_when(p["created_at"]),
        )
        for p in row["payments"]
    ]
    return Booking(
        id=row["id"],
        record_locator=row["record_locator"],
        status=row["status"],
        user_id=row["user_id"],
        total=money(row["total_minor"]),
        fare=_fare(fare, money),
        contact=BookingContact(email=row["contact_email"], phone=row["contact_phone"]),
        passengers=passengers,
        segments=segments,
        payments=payments,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        cancelled_at=row["cancelled_at"],
        cancellation_reason=row["cancellation_reason"],
        version=row["version"],
    )


def _archived_row(document: dict[str, Any]) -> dict[str, Any]:
    """An archived booking's document in the shape of a ``_BOOKING`` row."""
    row = dict(document)
    row["id"] = uuid.UUID(row["id"])
    row["user_id"] = uuid.UUID(row["user_id"]) if row.get("user_id") else None
    for key in ("created_at", "updated_at", "cancelled_at"):
        if row.get(key) is not None:
            row[key] = datetime.fromisoformat(row[key])
    return row


async def load_booking(db: asyncpg.Connection | asyncpg.Pool, booking_id: uuid.UUID) -> Booking:
    """A booking, live or archived."""
    row = await db.fetchrow(_BOOKING, booking_id)
    if row is not None:
        return booking_from_row(row)
    document = await db.fetchval("SELECT booking FROM archived_bookings WHERE id = $1", booking_id)
    if document is None:
        raise BookingNotFound()
    return booking_from_row(_archived_row(document))


async def load_user_bookings(
    db: asyncpg.Connection | asyncpg.Pool, user_id: uuid.UUID
) -> list[Booking]:
    """Every booking of the user, archived ones too, whole, oldest first (the GDPR export)."""
    live = [booking_from_row(row) for row in await db.fetch(_USER_BOOKINGS, user_id)]
    archived = [
        booking_from_row(_archived_row(r["booking"]))
        for r in await db.fetch("SELECT booking FROM archived_bookings WHERE user_id = $1", user_id)
    ]
    return sorted(archived + live, key=lambda b: (b.created_at, b.id))


def may_read(owner: uuid.UUID | None, viewer: uuid.UUID, roles: Collection[str]) -> bool:
    return owner == viewer or not BOOKING_READERS.isdisjoint(roles)


async def get_booking(
    db: asyncpg.Connection | asyncpg.Pool,
    booking_id: uuid.UUID,
    viewer: uuid.UUID,
    roles: Collection[str],
) -> Booking:
    """The booking if the viewer owns it or is staff; BookingNotFound otherwise, so that
    someone else's booking looks exactly like one that does not exist."""
    booking = await load_booking(db, booking_id)
    if not may_read(booking.user_id, viewer, roles):
        raise BookingNotFound()
    return booking


async def check_visible(
    db: asyncpg.Connection | asyncpg.Pool,
    booking_id: uuid.UUID,
    viewer: uuid.UUID,
    roles: Collection[str],
) -> None:
    row = await db.fetchrow(
        "SELECT user_id FROM bookings WHERE id = $1 "
        "UNION ALL SELECT user_id FROM archived_bookings WHERE id = $1",
        booking_id,
    )
    if row is None or not may_read(row["user_id"], viewer, roles):
        raise BookingNotFound()


# History --------------------------------------------------------------------------------

HistoryView = Literal["upcoming", "past", "cancelled"]

_SUMMARY = """
SELECT b.id, b.record_locator, b.status, b.total_minor, b.currency, b.created_at,
       first_leg.origin, first_leg.scheduled_departure AS departure, o.time_zone AS origin_tz,
       last_leg.destination, last_leg.scheduled_arrival AS arrival,
       d.time_zone AS destination_tz,
       (SELECT count(*) FROM passengers p WHERE p.booking_id = b.id) AS passengers,
       {sort_key} AS sort_key
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
WHERE b.user_id = $1 AND {condition}
  AND ($2::timestamptz IS NULL OR ({sort_key}, b.id) {after} ($2, $3::uuid))
ORDER BY sort_key {direction}, b.id {direction}
LIMIT $4
"""

# Archived bookings in the same columns, for the views that reach into the past.
_ARCHIVED_SUMMARY = """
SELECT id, record_locator, status, total_minor, currency, created_at, origin,
       first_departure AS departure, origin_tz, destination, last_arrival AS arrival,
       destination_tz, passengers::bigint, {sort_key} AS sort_key
FROM archived_bookings
WHERE user_id = $1 AND {condition}
  AND ($2::timestamptz IS NULL OR ({sort_key}, id) < ($2, $3::uuid))
ORDER BY sort_key DESC, id DESC
LIMIT $4
"""


def _with_archive(live: str, *, sort_key: str, condition: str) -> str:
    """A newest-first view over live and archived bookings: each side keyset-paged
    and limited, then merged."""
    archived = _ARCHIVED_SUMMARY.format(sort_key=sort_key, condition=condition)
    return (
        f"SELECT * FROM (({live}) UNION ALL ({archived})) AS merged "
        "ORDER BY sort_key DESC, id DESC LIMIT $4"
    )


# Fixed texts per view: nothing from the request is formatted into SQL.
_HISTORY = {
    "upcoming": _SUMMARY.format(
        sort_key="first_leg.scheduled_departure",
        condition="b.status = 'confirmed' AND last_leg.scheduled_arrival > now()",
        after=">", direction="ASC",
    ),
    "past": _with_archive(_SUMMARY.format(
        sort_key="first_leg.scheduled_departure",
        condition="b.status = 'confirmed' AND last_leg.scheduled_arrival <= now()",
        after="<", direction="DESC",
    ), sort_key="first_departure", condition="status = 'confirmed'"),
    "cancelled": _with_archive(_SUMMARY.format(
        sort_key="b.cancelled_at", condition="b.status = 'cancelled'", after="<",
        direction="DESC",
    ), sort_key="cancelled_at", condition="status = 'cancelled'"),
}  # fmt: skip


def _encode_cursor(view: str, sort_key: datetime, booking_id: uuid.UUID) -> str:
    raw = orjson.dumps([view, sort_key.isoformat(), str(booking_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(view: str, cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_view, key, booking_id = orjson.loads(raw)
        if cursor_view != view:
            raise ValueError("cursor of another view")
        return datetime.fromisoformat(key), uuid.UUID(booking_id)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise ValidationFailed(
            [FieldError("cursor", "Not a cursor of this listing.", "invalid_cursor")]
        ) from None


def summary_from_row(r: asyncpg.Record) -> BookingSummary:
    """One line of a booking list, from a row with the columns the list queries select."""
    return BookingSummary(
        id=r["id"],
        record_locator=r["record_locator"],
        status=r["status"],
        origin=r["origin"],
        destination=r["destination"],
        departure=Instant.of(r["departure"], r["origin_tz"]),
        arrival=Instant.of(r["arrival"], r["destination_tz"]),
        passengers=r["passengers"],
        total=Money(amount_minor=r["total_minor"], currency=r["currency"]),
        created_at=r["created_at"],
    )


async def list_bookings(
    db: asyncpg.Connection | asyncpg.Pool,
    user_id: uuid.UUID,
    view: HistoryView,
    limit: int,
    cursor: str | None = None,
) -> BookingPage:
    after_key, after_id = _decode_cursor(view, cursor) if cursor else (None, None)
    rows = await db.fetch(_HISTORY[view], user_id, after_key, after_id, limit + 1)
    summaries = [summary_from_row(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = _encode_cursor(view, last["sort_key"], last["id"])
    return BookingPage(bookings=summaries, next_cursor=next_cursor)
