"""Reading the change log: released events in id order, topic history, retention.

"Released" is the commit-safe part of the log. Every event carries a release
horizon (see the capture migration); the reader finds the largest visible id
whose horizon lies below its snapshot's xmin. Every smaller id is then either
visible or will never be, so events up to that id can be handed out in id
order and a client's last id is a lossless resume point.
"""

from __future__ import annotations

from typing import TypeAlias

import asyncpg

from domain.change_log import LogState, ReleaseBounds, log_state, release_bounds
from streams.events import ChangeEvent, render_data

# The log's state, for the readers here.
__all__ = ["LogState", "ReleaseBounds", "log_state", "release_bounds"]

Queryable: TypeAlias = asyncpg.Connection | asyncpg.Pool

_EVENTS = """
SELECT id, event_type, entity, topics, payload, created_at
FROM change_events
WHERE id > $1 AND id <= $2
ORDER BY id
LIMIT $3
"""

_TOPIC_EVENTS = """
SELECT id, event_type, entity, topics, payload, created_at
FROM change_events
WHERE id > $1 AND id <= $2 AND topics @> ARRAY[$3::text]
ORDER BY id
LIMIT $4
"""

# Where a reader with no history starts: the newest released event. Looking only
# at recent ids keeps this cheap on a large log; a released id is final wherever it is.
_START = """
SELECT coalesce(max(id) FILTER (WHERE release_horizon <= pg_snapshot_xmin(pg_current_snapshot())),
                0)
FROM change_events
WHERE id > (SELECT coalesce(max(id), 0) FROM change_events) - $1
"""


def _event(row: asyncpg.Record, epoch: str) -> ChangeEvent:
    return ChangeEvent(
        id=row["id"],
        type=row["event_type"],
        topics=tuple(row["topics"]),
        position=f"{epoch}:{row['id']}",
        data=render_data(row["entity"], row["payload"], row["created_at"]),
    )


async def start_position(conn: Queryable, *, lookback: int = 100_000) -> int:
    return int(await conn.fetchval(_START, lookback))


async def released_events(
    conn: Queryable, after_id: int, through_id: int, epoch: str, *, limit: int = 1000
) -> list[ChangeEvent]:
    rows = await conn.fetch(_EVENTS, after_id, through_id, limit)
    return [_event(row, epoch) for row in rows]


async def topic_history(
    conn: Queryable, topic: str, after_id: int, through_id: int, epoch: str, *, limit: int = 5000
) -> list[ChangeEvent]:
    """A topic's events after ``after_id`` up to ``through_id`` (both released), in order."""
    rows = await conn.fetch(_TOPIC_EVENTS, after_id, through_id, topic, limit)
    return [_event(row, epoch) for row in rows]


async def last_before(conn: Queryable, unix_seconds: float) -> int:
    """The newest event written before ``unix_seconds``: where a replay "since" a time starts."""
    return int(
        await conn.fetchval(
            "SELECT coalesce(max(id), 0) FROM change_events WHERE created_at < to_timestamp($1)",
            unix_seconds,
        )
    )


async def purge(conn: asyncpg.Connection, *, keep_for_seconds: int) -> int:
    """Delete released events older than the retention; return the new purge mark."""
    async with conn.transaction():
        cut = await conn.fetchval(
            """SELECT coalesce(max(id), 0) FROM change_events
               WHERE created_at < now() - make_interval(secs => $1)""",
            keep_for_seconds,
        )
        state = await log_state(conn)
        if cut <= state.purged_through:
            return state.purged_through
        await conn.execute("DELETE FROM change_events WHERE id <= $1", cut)
        await conn.execute("UPDATE change_log_state SET purged_through = $1", cut)
        return int(cut)
