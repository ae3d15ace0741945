"""Bulk loads that rebuild indexes and constraints once instead of row by row.

For a load of many rows into tables that are empty (or nearly), the secondary
indexes and the unique and foreign-key constraints of the tables are dropped
and then recreated from the definitions the catalog held, so they stay exactly
what the migrations made. Building an index once over loaded rows and
validating a foreign key with one join are far cheaper than maintaining them
row by row (1M legs: about 11 s instead of 41 s on a 2-core machine).

Everything happens inside the caller's transaction: a failed load rolls the
drops back with it. The tables are locked ACCESS EXCLUSIVE until commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

# Unique constraints another table's foreign key relies on must stay (a primary
# key always does); everything else is rebuilt after the load.
_DEFERRABLE_CONSTRAINTS = """
SELECT c.conrelid::regclass::text AS table_name,
       format('%I', c.conname) AS name,
       pg_get_constraintdef(c.oid) AS definition,
       c.contype = 'f' AS is_foreign_key
FROM pg_constraint c
WHERE c.conrelid = ANY($1::regclass[])
  AND (c.contype = 'f'
       OR (c.contype = 'u' AND NOT EXISTS (
             SELECT 1 FROM pg_constraint r
             WHERE r.contype = 'f' AND r.confrelid = c.conrelid AND r.conindid = c.conindid)))
ORDER BY c.contype DESC, c.conrelid, c.conname
"""

# Indexes that no constraint owns (the primary keys and unique constraints own theirs).
_PLAIN_INDEXES = """
SELECT i.indexrelid::regclass::text AS name,
       pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
WHERE i.indrelid = ANY($1::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                                                  AND c.conrelid = i.indrelid)
ORDER BY i.indrelid, i.indexrelid
"""


@dataclass(frozen=True, slots=True)
class Suspended:
    """What was dropped for the load, to put back afterwards."""

    constraints: list[asyncpg.Record]
    indexes: list[asyncpg.Record]


async def suspend_indexes(conn: asyncpg.Connection, tables: Sequence[str]) -> Suspended:
    """Drop the secondary indexes and deferrable constraints of ``tables``."""
    suspended = Suspended(
        constraints=await conn.fetch(_DEFERRABLE_CONSTRAINTS, list(tables)),
        indexes=await conn.fetch(_PLAIN_INDEXES, list(tables)),
    )
    # Names come from the catalog, already quoted (regclass output, format('%I')).
    for c in suspended.constraints:
        await conn.execute(f"ALTER TABLE {c['table_name']} DROP CONSTRAINT {c['name']}")
    for i in suspended.indexes:
        await conn.execute(f"DROP INDEX {i['name']}")
    return suspended


async def restore_indexes(conn: asyncpg.Connection, suspended: Suspended) -> None:
    """Recreate what ``suspend_indexes`` dropped."""
    for i in suspended.indexes:
        await conn.execute(i["definition"])
    # Unique constraints (and their indexes) first, then foreign keys, each
    # validated by one join over the loaded rows.
    for c in sorted(suspended.constraints, key=lambda c: c["is_foreign_key"]):
        await conn.execute(
            f"ALTER TABLE {c['table_name']} ADD CONSTRAINT {c['name']} {c['definition']}"
        )
