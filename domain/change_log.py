"""The change log's own state: its epoch (new for a new or restored database) and the
purge mark below which history is gone. Streams and sync positions are only valid
within an epoch and above the mark."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import asyncpg

Queryable: TypeAlias = asyncpg.Connection | asyncpg.Pool

_STATE = "SELECT epoch, purged_through FROM change_log_state"

# One statement, one snapshot: the horizon test and the visibility of the rows
# it looks at must agree.
_BOUNDS = """
SELECT max(id) FILTER (WHERE release_horizon <= pg_snapshot_xmin(pg_current_snapshot()))
           AS released,
       max(id) AS newest
FROM change_events
WHERE id > $1
"""


@dataclass(frozen=True, slots=True)
class LogState:
    epoch: str
    purged_through: int


async def log_state(conn: Queryable) -> LogState:
    row = await conn.fetchrow(_STATE)
    return LogState(row["epoch"], row["purged_through"])


async def start_new_epoch(conn: Queryable) -> str:
    """Give the log a new epoch: positions handed out before (by the database this one was
    restored from) no longer resume here, and their clients re-snapshot instead."""
    epoch: str = await conn.fetchval(
        "UPDATE change_log_state SET epoch = substr(md5(gen_random_uuid()::text), 1, 8) "
        "RETURNING epoch"
    )
    return epoch


@dataclass(frozen=True, slots=True)
class ReleaseBounds:
    released: int
    """Events up to this id are final and may be handed out."""
    withheld: bool
    """Visible events beyond ``released`` wait for an older transaction to finish."""


async def release_bounds(conn: Queryable, after_id: int) -> ReleaseBounds:
    row = await conn.fetchrow(_BOUNDS, after_id)
    released = row["released"] or after_id
    newest = row["newest"] or after_id
    return ReleaseBounds(released=released, withheld=newest > released)
