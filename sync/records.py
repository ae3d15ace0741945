"""What a device holds: each synced record's current state, read for one user.

Every reader returns a record for every id it was asked about: the record when
it exists and is in the user's scope, else a tombstone (``data`` None). Scope:
all of the user's bookings (``trips``, cancelled ones too); the flights of their
confirmed bookings; the live tickets of their bookings; the boarding passes of
their checked-in passengers; their preferences, travellers and notes that are not
deleted, and their notifications.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from domain.bookings.errors import BookingNotFound
from domain.bookings.models import Booking
from domain.bookings.queries import load_booking, load_user_bookings
from domain.checkin.passes import boarding_pass_rows, pass_id, view_of
from domain.flights import FLIGHT_SELECT, flight_from_row
from domain.profiles import Preferences
from domain.receipts import LIVE_TICKET_STATUSES, TicketReceipt, load_receipts_of
from domain.travel_documents import TravelDocuments


@dataclass(frozen=True, slots=True)
class Record:
    collection: str
    id: str
    version: int
    # A model already serialised by pydantic (in Rust) travels as an orjson Fragment.
    data: dict[str, Any] | orjson.Fragment | None

    def change(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "id": self.id,
            "op": "delete" if self.data is None else "upsert",
            "version": self.version,
            "data": self.data,
        }


def tombstone(collection: str, record_id: str, version: int = 0) -> Record:
    return Record(collection, record_id, version, None)


# Trips ----------------------------------------------------------------------------------


# Each segment's live flight status lives in ``flights``, so that a trip changes exactly
# when its booking's version does.
_NOT_IN_TRIPS = {"segments": {"__all__": {"flight_status"}}}


ReadByIds = Callable[[asyncpg.Connection, uuid.UUID, Collection[str]], Awaitable[dict[str, Record]]]
ReadPage = Callable[[asyncpg.Connection, uuid.UUID, str | None, int], Awaitable[list[Record]]]


def _owned_by_uuid(
    collection: str, by_ids: str, page: str, to_record: Callable[[asyncpg.Record], Record]
) -> tuple[ReadByIds, ReadPage]:
    """Readers of a collection of the user's own records with client-chosen uuid ids:
    given records by id (absent ones as tombstones), and a page of the live ones by id."""

    async def read(
        conn: asyncpg.Connection, user_id: uuid.UUID, ids: Collection[str]
    ) -> dict[str, Record]:
        found = {i: tombstone(collection, i) for i in ids}
        for row in await conn.fetch(by_ids, user_id, [uuid.UUID(i) for i in ids]):
            found[str(row["id"])] = to_record(row)
        return found

    async def page_of(
        conn: asyncpg.Connection, user_id: uuid.UUID, after: str | None, limit: int
    ) -> list[Record]:
        after_id = uuid.UUID(after) if after else uuid.UUID(int=0)
        return [to_record(row) for row in await conn.fetch(page, user_id, after_id, limit)]

    return read, page_of


def trip_record(booking: Booking) -> Record:
    """The booking as the REST API shows it, less each segment's live flight status."""
    data = booking.__pydantic_serializer__.to_json(booking, exclude=_NOT_IN_TRIPS)
    return Record("trips", str(booking.id), booking.version, orjson.Fragment(data))


async def read_trips(
    conn: asyncpg.Connection, user_id: uuid.UUID, ids: Iterable[str]
) -> dict[str, Record]:
    found = {}
    for trip_id in ids:
        try:
            booking = await load_booking(conn, uuid.UUID(trip_id))
        except BookingNotFound:
            found[trip_id] = tombstone("trips", trip_id)
            continue
        if booking.user_id == user_id:
            found[trip_id] = trip_record(booking)
        else:  # anonymised by an erasure; or never theirs, which must look the same
            found[trip_id] = tombstone("trips", trip_id)
    return found


async def trips_page(
    conn: asyncpg.Connection, user_id: uuid.UUID, after: str | None, limit: int
) -> list[Record]:
    bookings = sorted(await load_user_bookings(conn, user_id), key=lambda b: str(b.id))
    return [trip_record(b) for b in bookings if after is None or str(b.id) > after][:limit]


# Flights --------------------------------------------------------------------------------

_FLIGHTS = FLIGHT_SELECT + "WHERE f.id = ANY($1::bigint[])"

_FLIGHTS_IN_SCOPE = """
SELECT DISTINCT s.flight_id FROM booking_segments s JOIN bookings b ON b.id = s.booking_id
WHERE b.user_id = $1 AND b.status = 'confirmed' AND s.flight_id = ANY($2::bigint[])
"""

_FLIGHTS_PAGE = (
    FLIGHT_SELECT
    + """
WHERE f.id IN (SELECT s.flight_id FROM booking_segments s JOIN bookings b ON b.id = s.booking_id
               WHERE b.user_id = $1 AND b.status = 'confirmed')
  AND f.id > $2
ORDER BY f.id
LIMIT $3
"""
)


def _flight_record(row: asyncpg.Record) -> Record:
    flight = flight_from_row(row)
    data = orjson.Fragment(flight.__pydantic_serializer__.to_json(flight))
    return Record("flights", str(row["id"]), row["version"], data)


async def read_flights(
    conn: asyncpg.Connection, user_id: uuid.UUID, ids: Collection[str]
) -> dict[str, Record]:
    numbers = [int(i) for i in ids]
    rows = await conn.fetch(_FLIGHTS, numbers)
    in_scope = {r["flight_id"] for r in await conn.fetch(_FLIGHTS_IN_SCOPE, user_id, numbers)}
    found = {i: tombstone("flights", i) for i in ids}
    for row in rows:
        key = str(row["id"])
        if row["id"] in in_scope:
            found[key] = _flight_record(row)
        else:
            found[key] = tombstone("flights", key, row["version"])
    return found


async def flights_page(
    conn: asyncpg.Connection, user_id: uuid.UUID, after: str | None, limit: int
) -> list[Record]:
    rows = await conn.fetch(_FLIGHTS_PAGE, user_id, int(after) if after else 0, limit)
    return [_flight_record(row) for row in rows]


# Tickets --------------------------------------------------------------------------------


def _ticket_record(receipt: TicketReceipt, version: int) -> Record:
    """A live ticket and its segments; its boarding passes are records of their own."""
    data = {
        "ticket_number": receipt.ticket_number,
        "booking_id": str(receipt.booking_id),
        "record_locator": receipt.record_locator,
        "issued_at": receipt.issued_at,
        "passenger_no": receipt.passenger_no,
        "passenger_type": receipt.passenger_type,
        "given_name": receipt.given_name,
        "family_name": receipt.family_name,
        "segments": [
            {
                "segment_no": s.segment_no,
                "designator": s.designator,
                "service_date": s.service_date,
                "origin": s.origin.iata,
                "destination": s.destination.iata,
                "departure": s.departure.isoformat(),
                "arrival": s.arrival.isoformat(),
                "cabin": s.cabin,
                "seat": s.seat,
            }
            for s in receipt.segments
        ],
    }
    return Record("tickets", receipt.ticket_number, version, data)


@dataclass(frozen=True, slots=True)
class BookingFootprint:
    """What a booking event may have changed on a device: the trip, its tickets, its flights."""

    booking_id: str
    owner: uuid.UUID | None
    status: str
    version: int
    tickets: tuple[str, ...]
    flights: tuple[int, ...]
    boarding_passes: tuple[str, ...] = ()


_FOOTPRINTS = """
SELECT b.id, b.user_id, b.status, b.version,
       ARRAY(SELECT t.ticket_number::text FROM tickets t WHERE t.booking_id = b.id
             ORDER BY t.ticket_number) AS tickets,
       ARRAY(SELECT DISTINCT s.flight_id FROM booking_segments s WHERE s.booking_id = b.id)
           AS flights,
       ARRAY(SELECT c.passenger_id::text || ':' || c.flight_id FROM check_ins c
             WHERE c.booking_id = b.id ORDER BY 1) AS boarding_passes
FROM bookings b
WHERE b.id = ANY($1::uuid[])
"""


async def booking_footprints(
    conn: asyncpg.Connection, booking_ids: Collection[str]
) -> dict[str, BookingFootprint]:
    rows = await conn.fetch(_FOOTPRINTS, [uuid.UUID(i) for i in booking_ids])
    footprints = {}
    for r in rows:
        key = str(r["id"])
        footprints[key] = BookingFootprint(
            key, r["user_id"], r["status"], r["version"], tuple(r["tickets"]),
            tuple(r["flights"]), tuple(r["boarding_passes"]),
        )  # fmt: skip
    return footprints


async def read_tickets(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    ids: Collection[str],
    footprints: dict[str, BookingFootprint],
) -> dict[str, Record]:
    """``ids``: ticket numbers, each of a booking in ``footprints``."""
    found = {i: tombstone("tickets", i) for i in ids}
    versions: dict[str, int] = {}
    for footprint in footprints.values():
        wanted = [t for t in footprint.tickets if t in found]
        if not wanted:
            continue
        for number in wanted:
            found[number] = tombstone("tickets", number, footprint.version)
        if footprint.owner == user_id:
            versions[footprint.booking_id] = footprint.version
    if versions:
        bookings = [uuid.UUID(booking_id) for booking_id in versions]
        for receipt in await load_receipts_of(conn, bookings):
            if receipt.ticket_number in found:
                version = versions[str(receipt.booking_id)]
                found[receipt.ticket_number] = _ticket_record(receipt, version)
    return found


_LIVE_TICKETS_PAGE = """
SELECT t.ticket_number::text AS ticket_number, t.booking_id, b.version
FROM tickets t JOIN bookings b ON b.id = t.booking_id
WHERE b.user_id = $1 AND t.status = ANY($2::text[]) AND t.ticket_number::text > $3
ORDER BY t.ticket_number::text
LIMIT $4
"""


async def tickets_page(
    conn: asyncpg.Connection, user_id: uuid.UUID, after: str | None, limit: int
) -> list[Record]:
    rows = await conn.fetch(_LIVE_TICKETS_PAGE, user_id, list(LIVE_TICKET_STATUSES),
                            after or "", limit)  # fmt: skip
    wanted = {r["ticket_number"]: r for r in rows}
    receipts: dict[str, Record] = {}
    bookings = list(dict.fromkeys(r["booking_id"] for r in rows))
    for receipt in await load_receipts_of(conn, bookings) if bookings else ():
        row = wanted.get(receipt.ticket_number)
        if row is not None:
            receipts[receipt.ticket_number] = _ticket_record(receipt, row["version"])
    # A ticket of a booking without segments has no receipt and nothing to show.
    return [receipts[number] for number in wanted if number in receipts]


# Boarding passes ------------------------------------------------------------------------

# Gate and times change after a pass is issued; the device has them live in ``flights``.
_NOT_IN_PASSES = {"gate", "terminal", "departure", "boarding_time"}

_PASS_VERSIONS = """
SELECT passenger_id::text || ':' || flight_id AS id, version FROM check_ins
WHERE passenger_id::text || ':' || flight_id = ANY($1::text[])
"""


def _boarding_pass_record(row: asyncpg.Record) -> Record:
    view = view_of(row)
    data = view.__pydantic_serializer__.to_json(view, exclude=_NOT_IN_PASSES)
    return Record("boarding_passes", pass_id(row["passenger_id"], row["flight_id"]),
                  row["version"], orjson.Fragment(data))  # fmt: skip


async def read_boarding_passes(
    conn: asyncpg.Connection, user_id: uuid.UUID, ids: Collection[str]
) -> dict[str, Record]:
    """``ids``: ``{passenger id}:{flight id}``. An undone check-in, a voided ticket or a
    cancelled booking is a tombstone."""
    found = {i: tombstone("boarding_passes", i) for i in ids}
    for row in await conn.fetch(_PASS_VERSIONS, list(ids)):
        found[row["id"]] = tombstone("boarding_passes", row["id"], row["version"])
    for row in await boarding_pass_rows(conn, ids=list(ids), owner=user_id):
        record = _boarding_pass_record(row)
        found[record.id] = record
    return found


async def boarding_passes_page(
    conn: asyncpg.Connection, user_id: uuid.UUID, after: str | None, limit: int
) -> list[Record]:
    passes = sorted((_boarding_pass_record(row)
                     for row in await boarding_pass_rows(conn, owner=user_id)),
                    key=lambda record: record.id)  # fmt: skip
    return [r for r in passes if after is None or r.id > after][:limit]


# Preferences ----------------------------------------------------------------------------

PREFERENCE_FIELDS = ("seat", "meal", "language", "notification_channels", "marketing_consent")

_PREFERENCES = """
SELECT seat, meal, language, notification_channels, marketing_consent, marketing_consent_at,
       updated_at, version, field_clocks
FROM user_preferences WHERE user_id = $1
"""


def preferences_record(user_id: uuid.UUID, row: asyncpg.Record | None) -> Record:
    """Defaults (version 0, no clocks) until the user first sets something."""
    if row is None:
        defaults = Preferences().model_dump()
        data = {name: defaults[name] for name in PREFERENCE_FIELDS}
        data |= {"marketing_consent_at": None, "updated_at": None, "clocks": {}}
        return Record("preferences", str(user_id), 0, data)
    data = {name: row[name] for name in PREFERENCE_FIELDS}
    data |= {
        "marketing_consent_at": row["marketing_consent_at"],
        "updated_at": row["updated_at"],
        "clocks": row["field_clocks"],
    }
    return Record("preferences", str(user_id), row["version"], data)


async def read_preferences(conn: asyncpg.Connection, user_id: uuid.UUID) -> Record:
    return preferences_record(user_id, await conn.fetchrow(_PREFERENCES, user_id))


# Travellers -----------------------------------------------------------------------------

TRAVELER_FIELDS = ("given_name", "family_name", "date_of_birth", "nationality",
                   "passport_number", "passport_expiry", "loyalty_numbers")  # fmt: skip

_TRAVELER_COLUMNS = """
id, given_name, family_name, date_of_birth, nationality, passport_number, passport_expiry,
passport_number_sealed, passport_expiry_sealed, loyalty_numbers, version, created_at,
updated_at, deleted_at, field_versions
"""
_TRAVELERS = (
    f"SELECT {_TRAVELER_COLUMNS} FROM travelers WHERE user_id = $1 AND id = ANY($2::uuid[])"
)
_TRAVELERS_PAGE = f"""
SELECT {_TRAVELER_COLUMNS} FROM travelers
WHERE user_id = $1 AND deleted_at IS NULL AND id > $2 ORDER BY id LIMIT $3
"""


def traveler_record(row: asyncpg.Record, user_id: uuid.UUID, documents: TravelDocuments) -> Record:
    """The traveller as its owner (the only one who syncs it) sees it: documents opened."""
    key = str(row["id"])
    if row["deleted_at"] is not None:
        return tombstone("travelers", key, row["version"])
    shown = documents.reveal(user_id, row)
    data = {"id": key, **{name: shown[name] for name in TRAVELER_FIELDS}}
    data |= {"created_at": row["created_at"], "updated_at": row["updated_at"]}
    return Record("travelers", key, row["version"], data)


async def read_travelers(
    conn: asyncpg.Connection, user_id: uuid.UUID, ids: Collection[str], documents: TravelDocuments
) -> dict[str, Record]:
    found = {i: tombstone("travelers", i) for i in ids}
    for row in await conn.fetch(_TRAVELERS, user_id, [uuid.UUID(i) for i in ids]):
        found[str(row["id"])] = traveler_record(row, user_id, documents)
    return found


async def travelers_page(
    conn: asyncpg.Connection, user_id: uuid.UUID, after: str | None, limit: int,
    documents: TravelDocuments,
) -> list[Record]:  # fmt: skip
    after_id = uuid.UUID(after) if after else uuid.UUID(int=0)
    rows = await conn.fetch(_TRAVELERS_PAGE, user_id, after_id, limit)
    return [traveler_record(row, user_id, documents) for row in rows]


# Trip notes -----------------------------------------------------------------------------

_NOTE_COLUMNS = (
    "id, booking_id, title, body, field_clocks, version, created_at, updated_at, deleted_at"
)
_NOTES = f"SELECT {_NOTE_COLUMNS} FROM trip_notes WHERE user_id = $1 AND id = ANY($2::uuid[])"
_NOTES_PAGE = f"""
SELECT {_NOTE_COLUMNS} FROM trip_notes
WHERE user_id = $1 AND deleted_at IS NULL AND id > $2 ORDER BY id LIMIT $3
"""


def note_record(row: asyncpg.Record) -> Record:
    key = str(row["id"])
    if row["deleted_at"] is not None:
        return tombstone("trip_notes", key, row["version"])
    data = {
        "id": key,
        "booking_id": str(row["booking_id"]),
        "title": row["title"],
        "body": row["body"],
        "clocks": row["field_clocks"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    return Record("trip_notes", key, row["version"], data)


read_notes, notes_page = _owned_by_uuid("trip_notes", _NOTES, _NOTES_PAGE, note_record)


# Notifications --------------------------------------------------------------------------

_NOTIFICATION_COLUMNS = "id, kind, title, body, booking_id, flight_id, created_at, read_at, version"
_NOTIFICATIONS = f"""
SELECT {_NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = $1 AND id = ANY($2::bigint[])
"""
_NOTIFICATIONS_PAGE = f"""
SELECT {_NOTIFICATION_COLUMNS} FROM notifications
WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3
"""


def notification_record(row: asyncpg.Record) -> Record:
    data = dict(row)
    data["id"] = key = str(row["id"])
    data["booking_id"] = str(row["booking_id"]) if row["booking_id"] else None
    del data["version"]
    return Record("notifications", key, row["version"], data)


async def read_notifications(
    conn: asyncpg.Connection, user_id: uuid.UUID, ids: Collection[str]
) -> dict[str, Record]:
    found = {i: tombstone("notifications", i) for i in ids}
    for row in await conn.fetch(_NOTIFICATIONS, user_id, [int(i) for i in ids]):
        found[str(row["id"])] = notification_record(row)
    return found


async def notifications_page(
    conn: asyncpg.Connection, user_id: uuid.UUID, after: str | None, limit: int
) -> list[Record]:
    rows = await conn.fetch(_NOTIFICATIONS_PAGE, user_id, int(after) if after else 0, limit)
    return [notification_record(row) for row in rows]
