"""The bench's database work: the URL of the embedded server, the naive baseline's
missing indexes, and CPU accounting of the PostgreSQL processes.

The naive baseline drops the three indexes search and boards scan by range and puts
them back afterwards from their catalog definitions. What remains is the primary
key, the unique (carrier, flight_number, service_date, origin) constraint and the
simulator's partial index on scheduled_departure, as a database would have with
only its operational indexes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


def dsn_for(pgdata: Path) -> str:
    """A URL for the embedded server, read from postmaster.pid (socket directory and port)."""
    # postmaster.pid: pid, data dir, start time, port, socket directory, ...
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    port, socket_dir = int(lines[3]), lines[4]
    return f"postgresql://postgres@/skybound?host={socket_dir}&port={port}"


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


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


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _seconds(fields: list[str], *columns: int) -> float:
    # After the command: state(0) ppid(1) pgrp(2) ... utime(11) stime(12) cutime(13) cstime(14).
    return sum(int(fields[c]) for c in columns) / os.sysconf("SC_CLK_TCK")


def _processes() -> list[tuple[int, list[str]]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                found.append((int(entry.name), fields))
    return found


def group_cpu(pgid: int) -> float:
    """CPU seconds of the live processes of a process group."""
    return sum(_seconds(f, 11, 12) for _pid, f in _processes() if int(f[2]) == pgid)


def postgres_cpu(pgdata: Path) -> float:
    """CPU seconds of PostgreSQL: the postmaster, its live children, and the children it
    reaped (short-lived backends and parallel workers count there once they exit)."""
    pid = postmaster_pid(pgdata)
    own = _stat(pid)
    if own is None:
        return 0.0
    children = sum(_seconds(f, 11, 12) for _pid, f in _processes() if int(f[1]) == pid)
    return _seconds(own, 11, 12, 13, 14) + children


def machine_busy() -> float:
    """CPU seconds all cores have spent busy since boot (``/proc/stat``, idle and iowait out)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(value) for value in fields[:8]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")
