"""Data mutations: each runs inside the push's transaction for that mutation.

Conflict rules (docs/sync.md):

- preferences and trip notes merge per field, last writer wins by hybrid logical
  clock: a field is written when the mutation's clock is at or after the field's;
  other fields of the same mutation still apply.
- travellers carry ``base_version``: a field changed on the server since that
  version and sent with another value is a conflict, and nothing of the
  mutation is applied; fields changed on one side only merge.
- deletes win: a deleted traveller or note stays deleted; later edits of it are
  rejected with reason ``deleted``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg

from domain.travel_documents import FIELDS as DOCUMENT_FIELDS
from domain.travel_documents import TravelDocuments
from sync.clock import Clock, wins
from sync.protocol import (
    NotificationsRead,
    PreferencesUpdate,
    TravelerDelete,
    TravelerUpsert,
    TripNoteDelete,
    TripNoteUpsert,
)
from sync.records import (
    PREFERENCE_FIELDS,
    TRAVELER_FIELDS,
    Record,
    note_record,
    preferences_record,
    read_notifications,
    tombstone,
    traveler_record,
)

Status = Literal["applied", "conflict", "rejected"]


@dataclass(slots=True)
class Outcome:
    status: Status
    records: list[Record] = field(default_factory=list)
    reason: str | None = None
    detail: str | None = None
    # The change-log entity and ids the mutation wrote, to find its newest event.
    entity: str | None = None
    entity_ids: list[str] = field(default_factory=list)


# Preferences ----------------------------------------------------------------------------

_PREFERENCE_COLUMNS = """
seat, meal, language, notification_channels, marketing_consent, marketing_consent_at,
updated_at, version, field_clocks
"""
_LOCK_PREFERENCES = (
    f"SELECT {_PREFERENCE_COLUMNS} FROM user_preferences WHERE user_id = $1 FOR UPDATE"
)


async def update_preferences(
    conn: asyncpg.Connection, user_id: uuid.UUID, args: PreferencesUpdate, clock: Clock
) -> Outcome:
    row = await conn.fetchrow(_LOCK_PREFERENCES, user_id)
    clocks: dict[str, str] = row["field_clocks"] if row else {}
    written: dict[str, Any] = {}
    kept = []
    for name in PREFERENCE_FIELDS:
        if name not in args.model_fields_set:
            continue
        value = getattr(args, name)
        if name == "notification_channels":
            value = sorted(set(value))
        if wins(clock, clocks.get(name)):
            written[name] = value
        else:
            kept.append(name)
    if written:
        stamps = dict.fromkeys(written, str(clock))
        names = list(written)
        values = [written[n] for n in names]
        # Column names come from PREFERENCE_FIELDS, never from the request.
        if row is None:
            columns = ", ".join(names)
            params = ", ".join(f"${i}" for i in range(4, 4 + len(names)))
            row = await conn.fetchrow(
                f"""INSERT INTO user_preferences (user_id, field_clocks, marketing_consent_at,
                                                  {columns})
                    VALUES ($1, $2, CASE WHEN $3 THEN now() END, {params})
                    ON CONFLICT (user_id) DO NOTHING
                    RETURNING {_PREFERENCE_COLUMNS}""",
                user_id, stamps, "marketing_consent" in written, *values,
            )  # fmt: skip
            if row is None:  # created meanwhile by another writer: merge with it instead
                return await update_preferences(conn, user_id, args, clock)
        else:
            assignments = ", ".join(f"{n} = ${i}" for i, n in enumerate(names, start=3))
            row = await conn.fetchrow(
                f"""UPDATE user_preferences
                    SET {assignments}, field_clocks = field_clocks || $2,
                        marketing_consent_at = CASE
                            WHEN marketing_consent IS DISTINCT FROM
                                 coalesce(${3 + len(names)}::boolean, marketing_consent)
                            THEN now() ELSE marketing_consent_at END
                    WHERE user_id = $1
                    RETURNING {_PREFERENCE_COLUMNS}""",
                user_id, stamps, *values, written.get("marketing_consent"),
            )  # fmt: skip
    detail = f"Newer edits kept for: {', '.join(kept)}." if kept else None
    return Outcome("applied", [preferences_record(user_id, row)], detail=detail,
                   entity="preferences", entity_ids=[str(user_id)])  # fmt: skip


# Travellers -----------------------------------------------------------------------------

_TRAVELER_COLUMNS = """
id, given_name, family_name, date_of_birth, nationality, passport_number, passport_expiry,
passport_number_sealed, passport_expiry_sealed, loyalty_numbers, version, created_at,
updated_at, deleted_at, field_versions
"""
_LOCK_TRAVELER = (
    f"SELECT {_TRAVELER_COLUMNS} FROM travelers WHERE user_id = $1 AND id = $2 FOR UPDATE"
)


def _stored(
    user_id: uuid.UUID, fields: dict[str, Any], documents: TravelDocuments
) -> dict[str, Any]:
    """Field values as columns: travel documents sealed, their plain columns emptied."""
    columns = {}
    for name, value in fields.items():
        if name in DOCUMENT_FIELDS:
            columns[f"{name}_sealed"] = documents.seal(user_id, name, value)
            columns[name] = None
        else:
            columns[name] = value
    return columns


async def upsert_traveler(
    conn: asyncpg.Connection, user_id: uuid.UUID, args: TravelerUpsert, clock: Clock, *,
    documents: TravelDocuments,
) -> Outcome:  # fmt: skip
    key = str(args.id)
    sent = {
        n: getattr(args.fields, n) for n in TRAVELER_FIELDS if n in args.fields.model_fields_set
    }
    row = await conn.fetchrow(_LOCK_TRAVELER, user_id, args.id)
    if row is None:
        if args.base_version is not None:
            return Outcome("rejected", [tombstone("travelers", key)], "not_found",
                           "No such traveller; create it with base_version null.")  # fmt: skip
        columns = _stored(user_id, sent, documents)
        params = ", ".join(f"${i}" for i in range(4, 4 + len(columns)))
        row = await conn.fetchrow(
            f"""INSERT INTO travelers (user_id, id, field_versions, {", ".join(columns)})
                VALUES ($1, $2, $3, {params}) RETURNING {_TRAVELER_COLUMNS}""",
            user_id, args.id, dict.fromkeys(sent, 1), *columns.values(),
        )  # fmt: skip
        created = traveler_record(row, user_id, documents)
        return Outcome("applied", [created], entity="traveler", entity_ids=[key])
    current = traveler_record(row, user_id, documents)
    if row["deleted_at"] is not None:
        return Outcome("rejected", [current], "deleted", "The traveller was deleted.")
    shown = documents.reveal(user_id, row)
    differing = {n: v for n, v in sent.items() if v != shown[n]}
    base = args.base_version or 0
    if base > row["version"]:
        clashing = list(differing)  # a version the server never had: trust no field
    else:
        versions: dict[str, int] = row["field_versions"]
        clashing = [n for n in differing if versions.get(n, 0) > base]
    if clashing:
        return Outcome(
            "conflict", [current], "stale_base_version",
            f"Changed since version {base}: {', '.join(clashing)}. Resolve and send again "
            f"with base_version {row['version']}.",
        )  # fmt: skip
    if not differing:
        return Outcome("applied", [current])
    columns = _stored(user_id, differing, documents)
    assignments = ", ".join(f"{n} = ${i}" for i, n in enumerate(columns, start=3))
    row = await conn.fetchrow(
        f"""UPDATE travelers SET {assignments} WHERE user_id = $1 AND id = $2
            RETURNING {_TRAVELER_COLUMNS}""",
        user_id, args.id, *columns.values(),
    )  # fmt: skip
    updated = traveler_record(row, user_id, documents)
    return Outcome("applied", [updated], entity="traveler", entity_ids=[key])


_DELETE_TRAVELER = f"""
UPDATE travelers
SET deleted_at = now(), given_name = NULL, family_name = NULL, date_of_birth = NULL,
    nationality = NULL, passport_number = NULL, passport_expiry = NULL,
    passport_number_sealed = NULL, passport_expiry_sealed = NULL, loyalty_numbers = '{{}}'
WHERE user_id = $1 AND id = $2
RETURNING {_TRAVELER_COLUMNS}
"""


async def delete_traveler(
    conn: asyncpg.Connection, user_id: uuid.UUID, args: TravelerDelete, clock: Clock, *,
    documents: TravelDocuments,
) -> Outcome:  # fmt: skip
    key = str(args.id)
    row = await conn.fetchrow(_LOCK_TRAVELER, user_id, args.id)
    if row is None or row["deleted_at"] is not None:
        version = row["version"] if row else 0
        return Outcome("applied", [tombstone("travelers", key, version)])
    if args.base_version != row["version"]:
        # A delete touches every field: any change since its base version conflicts.
        return Outcome(
            "conflict", [traveler_record(row, user_id, documents)], "stale_base_version",
            f"Changed since version {args.base_version}; delete again with base_version "
            f"{row['version']} if it should still go.",
        )  # fmt: skip
    row = await conn.fetchrow(_DELETE_TRAVELER, user_id, args.id)
    deleted = traveler_record(row, user_id, documents)
    return Outcome("applied", [deleted], entity="traveler", entity_ids=[key])


# Trip notes -----------------------------------------------------------------------------

_NOTE_COLUMNS = (
    "id, booking_id, title, body, field_clocks, version, created_at, updated_at, deleted_at"
)
_LOCK_NOTE = f"SELECT {_NOTE_COLUMNS} FROM trip_notes WHERE user_id = $1 AND id = $2 FOR UPDATE"
_OWN_BOOKING = "SELECT 1 FROM bookings WHERE id = $1 AND user_id = $2"


async def upsert_note(
    conn: asyncpg.Connection, user_id: uuid.UUID, args: TripNoteUpsert, clock: Clock
) -> Outcome:
    key = str(args.id)
    sent = {n: getattr(args, n) for n in ("title", "body") if n in args.model_fields_set}
    row = await conn.fetchrow(_LOCK_NOTE, user_id, args.id)
    if row is None:
        if await conn.fetchval(_OWN_BOOKING, args.booking_id, user_id) is None:
            return Outcome("rejected", [tombstone("trip_notes", key)], "trip_not_found",
                           "No trip with this booking id is yours.")  # fmt: skip
        row = await conn.fetchrow(
            f"""INSERT INTO trip_notes (user_id, id, booking_id, title, body, field_clocks)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_NOTE_COLUMNS}""",
            user_id, args.id, args.booking_id, sent.get("title"), sent.get("body"),
            dict.fromkeys(sent, str(clock)),
        )  # fmt: skip
        return Outcome("applied", [note_record(row)], entity="trip_note", entity_ids=[key])
    current = note_record(row)
    if row["deleted_at"] is not None:
        return Outcome("rejected", [current], "deleted", "The note was deleted.")
    if row["booking_id"] != args.booking_id:
        return Outcome("rejected", [current], "booking_mismatch",
                       "This note belongs to another trip.")  # fmt: skip
    clocks: dict[str, str] = row["field_clocks"]
    written = {n: v for n, v in sent.items() if wins(clock, clocks.get(n))}
    kept = [n for n in sent if n not in written]
    detail = f"Newer edits kept for: {', '.join(kept)}." if kept else None
    if not written:
        return Outcome("applied", [current], detail=detail)
    row = await conn.fetchrow(
        f"""UPDATE trip_notes
            SET title = CASE WHEN $3 THEN $4 ELSE title END,
                body = CASE WHEN $5 THEN $6 ELSE body END,
                field_clocks = field_clocks || $7
            WHERE user_id = $1 AND id = $2
            RETURNING {_NOTE_COLUMNS}""",
        user_id, args.id, "title" in written, written.get("title"), "body" in written,
        written.get("body"), dict.fromkeys(written, str(clock)),
    )  # fmt: skip
    return Outcome("applied", [note_record(row)], detail=detail, entity="trip_note",
                   entity_ids=[key])  # fmt: skip


_DELETE_NOTE = f"""
UPDATE trip_notes SET deleted_at = now(), title = NULL, body = NULL
WHERE user_id = $1 AND id = $2
RETURNING {_NOTE_COLUMNS}
"""


async def delete_note(
    conn: asyncpg.Connection, user_id: uuid.UUID, args: TripNoteDelete, clock: Clock
) -> Outcome:
    key = str(args.id)
    row = await conn.fetchrow(_LOCK_NOTE, user_id, args.id)
    if row is None or row["deleted_at"] is not None:
        return Outcome("applied", [tombstone("trip_notes", key, row["version"] if row else 0)])
    row = await conn.fetchrow(_DELETE_NOTE, user_id, args.id)
    return Outcome("applied", [note_record(row)], entity="trip_note", entity_ids=[key])


# Notifications --------------------------------------------------------------------------

# Read when the device says it was read (its clock's wall time), never in the future.
_MARK_READ = """
UPDATE notifications SET read_at = least(now(), to_timestamp($3 / 1000.0))
WHERE user_id = $1 AND id = ANY($2::bigint[]) AND read_at IS NULL
RETURNING id
"""


# Notification ids are bigints: a larger one names nothing that can exist.
_LARGEST_ID = 2**63 - 1


async def mark_read(
    conn: asyncpg.Connection, user_id: uuid.UUID, args: NotificationsRead, clock: Clock
) -> Outcome:
    ids = list(dict.fromkeys(args.ids))
    impossible = [str(i) for i in ids if i > _LARGEST_ID]
    if impossible:
        return Outcome("rejected", [tombstone("notifications", key) for key in impossible],
                       "not_found", f"No notification can have the id {', '.join(impossible)}; "
                       "ids are 64-bit.")  # fmt: skip
    marked = await conn.fetch(_MARK_READ, user_id, ids, clock.wall_ms)
    found = await read_notifications(conn, user_id, [str(i) for i in ids])
    unknown = [key for key, record in found.items() if record.data is None]
    detail = f"Not in your inbox: {', '.join(unknown)}." if unknown else None
    return Outcome("applied", list(found.values()), detail=detail, entity="notification",
                   entity_ids=[str(r["id"]) for r in marked])  # fmt: skip
