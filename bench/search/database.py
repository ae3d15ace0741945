"""The search benchmark's database work: the naive baseline's missing indexes.

The naive baseline drops the three indexes search and boards scan by range and puts
them back afterwards from their catalog definitions. What remains is the primary
key, the unique (carrier, flight_number, service_date, origin) constraint and the
simulator's partial index on scheduled_departure, as a database would have with
only its operational indexes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg

SEARCH_INDEXES = (
    "flights_route_departure_idx",
    "flights_origin_departure_idx",
    "flights_destination_arrival_idx",
)
# As the migrations create them: used to repair a home left without them by an
# interrupted run.
INDEX_DEFINITIONS = {
    "flights_route_departure_idx": (
        "CREATE INDEX flights_route_departure_idx ON public.flights "
        "USING btree (origin, destination, scheduled_departure)"
    ),
    "flights_origin_departure_idx": (
        "CREATE INDEX flights_origin_departure_idx ON public.flights "
        "USING btree (origin, scheduled_departure)"
    ),
    "flights_destination_arrival_idx": (
        "CREATE INDEX flights_destination_arrival_idx ON public.flights "
        "USING btree (destination, scheduled_arrival)"
    ),
}
_INDEXES = """
SELECT c.relname AS name, pg_get_indexdef(c.oid) AS definition
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'flights'::regclass
ORDER BY c.relname
"""


async def flight_indexes(dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {r["name"]: r["definition"] for r in await conn.fetch(_INDEXES)}
    finally:
        await conn.close()


async def repair_indexes(dsn: str) -> list[str]:
    """Create whichever search index is missing (an earlier run was killed mid-baseline)."""
    present = await flight_indexes(dsn)
    missing = [name for name in SEARCH_INDEXES if name not in present]
    if missing:
        conn = await asyncpg.connect(dsn)
        try:
            for name in missing:
                await conn.execute(INDEX_DEFINITIONS[name])
        finally:
            await conn.close()
    return missing


@dataclass
class IndexSwap:
    """Seconds taken to drop the search indexes and to build them again."""

    dropped_seconds: float = 0.0
    recreated_seconds: float = 0.0


async def _drop(dsn: str, swap: IndexSwap) -> dict[str, str]:
    definitions = {
        name: sql for name, sql in (await flight_indexes(dsn)).items() if name in SEARCH_INDEXES
    }
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        for name in definitions:
            await conn.execute(f"DROP INDEX {name}")  # names from the catalog, not input
        swap.dropped_seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return definitions


async def _restore(dsn: str, definitions: dict[str, str], swap: IndexSwap) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for sql in definitions.values():
            await conn.execute(sql)
        swap.recreated_seconds = time.perf_counter() - started
    finally:
        await conn.close()


@contextlib.contextmanager
def search_indexes_dropped(dsn: str) -> Iterator[IndexSwap]:
    """Drop the search indexes for the block and recreate them after, whatever happens."""
    swap = IndexSwap()
    definitions = asyncio.run(_drop(dsn, swap))
    try:
        yield swap
    finally:
        asyncio.run(_restore(dsn, definitions, swap))
