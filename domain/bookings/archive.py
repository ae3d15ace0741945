"""Archiving: bookings whose last flight landed long ago leave the hot tables.

A booking is archived whole, as one document (what ``queries._BOOKING`` reads, plus
its trip notes) in ``archived_bookings``, with the columns its history page needs;
then it is deleted from ``bookings`` (its passengers, segments, seats, tickets and
payments go with it). Reads that may concern an old booking (by id, the past and
cancelled views, the GDPR export and erasure) look in the archive too; the hot paths
(search, seat maps, booking, the upcoming view) never do, and their tables stay the
size of the bookings still travelling.

One worker of the fleet archives at a time (a session advisory lock), in bounded
batches, each its own transaction, oldest bookings first.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import asyncpg

from domain.bookings import queries
from foundation.database import RIDE_OUT

log = logging.getLogger(__name__)

BATCH = 500
INTERVAL_SECONDS = 3600.0
ARCHIVER_LOCK = 0x41524348  # "ARCH"

# Bookings all of whose flights landed (or were due to) before the cut-off, oldest
# first; locked so that a change or cancellation under way keeps its booking.
_DUE = """
SELECT b.id FROM bookings b
 WHERE EXISTS (SELECT 1 FROM booking_segments s WHERE s.booking_id = b.id)
   AND NOT EXISTS (
       SELECT 1 FROM booking_segments s JOIN flights f ON f.id = s.flight_id
        WHERE s.booking_id = b.id
          AND coalesce(f.actual_arrival, f.scheduled_arrival) >= $1)
 ORDER BY b.created_at, b.id
 LIMIT $2
 FOR UPDATE OF b SKIP LOCKED
"""

_ARCHIVE = (
    """
INSERT INTO archived_bookings (id, record_locator, user_id, status, total_minor, currency,
                               created_at, cancelled_at, origin, origin_tz, destination,
                               destination_tz, first_departure, last_arrival, passengers,
                               document_keys, booking)
SELECT x.id, x.record_locator, x.user_id, x.status, x.total_minor, x.currency, x.created_at,
       x.cancelled_at, x.segments -> 0 ->> 'origin', x.segments -> 0 ->> 'origin_tz',
       x.segments -> -1 ->> 'destination', x.segments -> -1 ->> 'destination_tz',
       (x.segments -> 0 ->> 'departure')::timestamptz,
       (x.segments -> -1 ->> 'arrival')::timestamptz,
       jsonb_array_length(x.passengers),
       ARRAY(SELECT t.document_key FROM tickets t
              WHERE t.booking_id = x.id AND t.document_key IS NOT NULL),
       to_jsonb(x) || jsonb_build_object('trip_notes', (
           SELECT coalesce(jsonb_agg(to_jsonb(n) ORDER BY n.created_at), '[]')
             FROM trip_notes n WHERE n.booking_id = x.id))
  FROM ("""
    + queries.BOOKING_SQL.replace("WHERE b.id = $1", "WHERE b.id = ANY($1::uuid[])")
    + """) x
"""
)

_DELETE = "DELETE FROM bookings WHERE id = ANY($1::uuid[])"


async def archive_batch(conn: asyncpg.Connection, cutoff: datetime, batch: int = BATCH) -> int:
    """Move up to ``batch`` bookings that finished travelling before ``cutoff``; how many."""
    async with conn.transaction():
        ids = [r["id"] for r in await conn.fetch(_DUE, cutoff, batch)]
        if ids:
            await conn.execute(_ARCHIVE, ids)
            await conn.execute(_DELETE, ids)
    return len(ids)


async def archive_due(
    pool: asyncpg.Pool, *, after_days: int, now: datetime | None = None, batch: int = BATCH
) -> int:
    """Archive every booking due, batch by batch, unless another worker is at it."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=after_days)
    moved = 0
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", ARCHIVER_LOCK):
            return 0
        try:
            while (count := await archive_batch(conn, cutoff, batch)) > 0:
                moved += count
        finally:
            # Pool connections keep no session state: the lock must not outlive the run.
            await conn.execute("SELECT pg_advisory_unlock($1)", ARCHIVER_LOCK)
    if moved:
        log.info("bookings archived", extra={"bookings": moved, "cutoff": cutoff.isoformat()})
    return moved


async def run_archiver(
    pool: asyncpg.Pool, after_days: int, interval: float = INTERVAL_SECONDS
) -> None:
    """The supervised archiver: a pass now, then every ``interval`` seconds."""
    while True:
        try:
            await archive_due(pool, after_days=after_days)
        except RIDE_OUT as exc:
            log.warning("booking archive pass failed", extra={"error": repr(exc)})
        await asyncio.sleep(interval)
