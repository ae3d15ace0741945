"""Pull: the user's whole state, then what changed since, paged, from one change log.

A pull runs in one REPEATABLE READ transaction, so the commit-safe position, the
events up to it and the records it reads all come from the same snapshot. It is
state-based: events only say which records to look at, and each looked-at record
is sent as it is now (or as a tombstone), so many events of one record cost one
change and re-sending a record is harmless.

- Null cursor: a full state, paged by (collection, id); its position ``through``
  is taken on the first page. Every event up to it is reflected in what every
  later page reads, and anything that changes while the pages are fetched has a
  larger id, so the pulls that follow send it again.
- Cursor: the user's events after ``through`` up to the released position, read
  in id order until ``limit`` records are touched.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg

from domain.change_log import log_state
from domain.travel_documents import TravelDocuments
from sync import records
from sync.cursors import Cursor, CursorCodec, SnapshotMark
from sync.protocol import COLLECTIONS, SCHEMA_VERSION
from sync.records import Record

Key = tuple[str, str]

# The newest released id: a backward scan of the id index that stops at the first
# event whose horizon is below the snapshot's xmin (docs/realtime.md). Every
# smaller id is then committed and visible to this snapshot, or never will be.
_RELEASED = """
SELECT coalesce((SELECT id FROM change_events
                 WHERE release_horizon <= pg_snapshot_xmin(pg_current_snapshot())
                 ORDER BY id DESC LIMIT 1), 0)
"""

_USER_EVENTS = """
SELECT id, entity, entity_id, payload -> 'removed_flight_ids' AS removed_flights
FROM change_events
WHERE id > $1 AND id <= $2 AND topics @> ARRAY[$3::text]
ORDER BY id
LIMIT $4
"""

_CHANGED_SINCE = """
SELECT EXISTS (SELECT 1 FROM change_events WHERE id > $1 AND id <= $2 AND topics @> ARRAY[$3::text])
"""

# Per client, the last mutation whose effect is at or below the position: a
# mutation whose event lies beyond it is reported only by the pull that covers it.
_LAST_MUTATIONS = """
SELECT c.client_id,
       coalesce((SELECT min(m.mutation_id) - 1 FROM sync_mutations m
                  WHERE m.user_id = c.user_id AND m.client_id = c.client_id
                    AND m.mutation_id <= c.last_mutation_id AND m.event_id > $2),
                c.last_mutation_id) AS last_mutation_id
FROM sync_clients c
WHERE c.user_id = $1
ORDER BY c.client_id
"""

# The collections a change-log entity touches.
_ENTITY_COLLECTION = {
    "flight": "flights",
    "traveler": "travelers",
    "trip_note": "trip_notes",
    "notification": "notifications",
    "preferences": "preferences",
    "boarding_pass": "boarding_passes",
}
_BOOKING_COLLECTIONS = frozenset({"trips", "tickets", "flights", "boarding_passes"})


@dataclass(frozen=True, slots=True)
class PullResult:
    changes: list[Record]
    cursor: Cursor
    has_more: bool
    reset: bool
    last_mutation_ids: dict[str, int]


async def released_position(conn: asyncpg.Connection, purged_through: int) -> int:
    """Purged events were released long before: a quiet log purged empty still has a
    position past them, so a cursor taken now is not older than the purge mark."""
    return max(int(await conn.fetchval(_RELEASED)), purged_through)


async def last_mutation_ids(
    conn: asyncpg.Connection, user_id: uuid.UUID, through: int
) -> dict[str, int]:
    rows = await conn.fetch(_LAST_MUTATIONS, user_id, through)
    return {r["client_id"]: r["last_mutation_id"] for r in rows}


async def pull(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    cursor: Cursor | None,
    collections: frozenset[str],
    limit: int,
    documents: TravelDocuments,
) -> PullResult:
    """``cursor`` is already verified as this user's, for these collections."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        log = await log_state(conn)
        reset = cursor is not None and (
            cursor.epoch != log.epoch
            or cursor.through < log.purged_through
            or cursor.schema_version != SCHEMA_VERSION
        )
        released = await released_position(conn, log.purged_through)
        if cursor is None or reset:
            start = SnapshotMark(0, None)
            cursor = Cursor(user_id, SCHEMA_VERSION, log.epoch, released, collections, start)
        if cursor.snapshot is not None:
            changes, mark = await _snapshot_page(
                conn, user_id, collections, cursor.snapshot, limit, documents
            )
            following = Cursor(
                user_id, SCHEMA_VERSION, log.epoch, cursor.through, collections, mark
            )
            # The last page of a full state: more if anything changed since it began.
            has_more = mark is not None or await conn.fetchval(
                _CHANGED_SINCE, cursor.through, released, f"user:{user_id}"
            )
        else:
            released = max(cursor.through, released)
            changes, consumed = await _changes_since(
                conn, user_id, collections, cursor.through, released, limit, documents
            )
            following = Cursor(user_id, SCHEMA_VERSION, log.epoch, consumed, collections)
            has_more = consumed < released
        mutations = await last_mutation_ids(conn, user_id, following.through)
    return PullResult(changes, following, has_more, reset, mutations)


# Full state -----------------------------------------------------------------------------

Page = Callable[[asyncpg.Connection, uuid.UUID, str | None, int], Awaitable[list[Record]]]


async def _preferences_page(
    conn: asyncpg.Connection, user_id: uuid.UUID, after: str | None, limit: int
) -> list[Record]:
    return [] if after is not None else [await records.read_preferences(conn, user_id)]


_PAGES: dict[str, Page] = {
    "trips": records.trips_page,
    "flights": records.flights_page,
    "tickets": records.tickets_page,
    "boarding_passes": records.boarding_passes_page,
    "preferences": _preferences_page,
    "trip_notes": records.notes_page,
    "notifications": records.notifications_page,
}


async def _snapshot_page(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    collections: frozenset[str],
    mark: SnapshotMark,
    limit: int,
    documents: TravelDocuments,
) -> tuple[list[Record], SnapshotMark | None]:
    """Up to ``limit`` records from ``mark`` on, and where the next page starts (None: done)."""
    found: list[Record] = []
    index, after = mark.collection, mark.after_id
    while index < len(COLLECTIONS):
        name = COLLECTIONS[index]
        if name in collections:
            room = limit - len(found)
            if name == "travelers":
                page = await records.travelers_page(conn, user_id, after, room, documents)
            else:
                page = await _PAGES[name](conn, user_id, after, room)
            found.extend(page)
            if len(page) == room:
                return found, SnapshotMark(index, page[-1].id)
        index, after = index + 1, None
    return found, None


# Changes since a position ---------------------------------------------------------------


def _event_keys(
    row: asyncpg.Record,
    footprints: dict[str, records.BookingFootprint],
    collections: Collection[str],
) -> Iterable[Key]:
    entity, entity_id = row["entity"], row["entity_id"]
    if entity == "booking":
        footprint = footprints.get(entity_id)
        if "trips" in collections:
            yield "trips", entity_id
        if footprint is not None and "tickets" in collections:
            for number in footprint.tickets:
                yield "tickets", number
        if footprint is not None and "boarding_passes" in collections:
            for boarding_pass in footprint.boarding_passes:
                yield "boarding_passes", boarding_pass
        if "flights" in collections:
            flights = list(footprint.flights) if footprint is not None else []
            flights += row["removed_flights"] or []
            for flight_id in dict.fromkeys(flights):
                yield "flights", str(flight_id)
        return
    collection = _ENTITY_COLLECTION.get(entity)
    if collection is not None and collection in collections:
        yield collection, entity_id


async def _changes_since(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    collections: frozenset[str],
    after: int,
    released: int,
    limit: int,
    documents: TravelDocuments,
) -> tuple[list[Record], int]:
    """The records touched by the user's events in (after, released], up to ``limit`` of
    them without splitting an event; and the id of the last event taken."""
    topic = f"user:{user_id}"
    touched: dict[Key, None] = {}
    footprints: dict[str, records.BookingFootprint] = {}
    consumed = after
    batch = max(limit, 500)
    while consumed < released:
        rows = await conn.fetch(_USER_EVENTS, consumed, released, topic, batch)
        if not collections.isdisjoint(_BOOKING_COLLECTIONS):
            bookings = {r["entity_id"] for r in rows if r["entity"] == "booking"}
            if bookings - footprints.keys():
                footprints |= await records.booking_footprints(conn, bookings - footprints.keys())
        for row in rows:
            keys = [k for k in _event_keys(row, footprints, collections) if k not in touched]
            if touched and len(touched) + len(keys) > limit:
                return await _read(conn, user_id, touched, footprints, documents), consumed
            touched.update(dict.fromkeys(keys))
            consumed = row["id"]
        if len(rows) < batch:
            consumed = released
    return await _read(conn, user_id, touched, footprints, documents), consumed


async def _read(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    touched: dict[Key, None],
    footprints: dict[str, records.BookingFootprint],
    documents: TravelDocuments,
) -> list[Record]:
    wanted: dict[str, list[str]] = {}
    for collection, record_id in touched:
        wanted.setdefault(collection, []).append(record_id)
    found: dict[Key, Record] = {}

    def add(collection: str, by_id: dict[str, Record]) -> None:
        found.update(((collection, i), r) for i, r in by_id.items())

    for collection, ids in wanted.items():
        if collection == "trips":
            add(collection, await records.read_trips(conn, user_id, ids))
        elif collection == "flights":
            add(collection, await records.read_flights(conn, user_id, ids))
        elif collection == "tickets":
            add(collection, await records.read_tickets(conn, user_id, ids, footprints))
        elif collection == "boarding_passes":
            add(collection, await records.read_boarding_passes(conn, user_id, ids))
        elif collection == "preferences":
            found[collection, str(user_id)] = await records.read_preferences(conn, user_id)
        elif collection == "travelers":
            add(collection, await records.read_travelers(conn, user_id, ids, documents))
        elif collection == "trip_notes":
            add(collection, await records.read_notes(conn, user_id, ids))
        else:
            add(collection, await records.read_notifications(conn, user_id, ids))
    return [found[key] for key in touched]


def encode_response(result: PullResult, codec: CursorCodec) -> dict[str, Any]:
    return {
        "changes": [record.change() for record in result.changes],
        "cursor": codec.encode(result.cursor),
        "has_more": result.has_more,
        "reset": result.reset,
        "last_mutation_ids": result.last_mutation_ids,
        "schema_version": SCHEMA_VERSION,
    }
