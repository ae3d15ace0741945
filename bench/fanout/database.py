"""The bench database: which board to watch, the peers' NOTIFY trigger, and committing events.

Every event of every target is the same SQL: one autocommit ``UPDATE`` of a
departing flight's gate. Skybound's capture trigger turns it into a
``change_events`` row and a NOTIFY, and (``flights`` being published to the
Supabase-compatible endpoint) a ``row.update`` event; the bench trigger below sends
the peers a ``pg_notify('board_<IATA>', json)`` with the same fields. Every trigger
fires for every target, so the database does the same work whichever one is measured.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg

from bench.harness.boards import busiest_boards

# A bench-only trigger in the bench's own throwaway database; named to fire after
# Skybound's flights_capture, so its "at" is taken after Skybound's capture work.
PEER_NOTIFY_SQL = """
CREATE OR REPLACE FUNCTION bench_fanout_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('board_' || NEW.origin, jsonb_build_object(
        'flight', flight_state(NEW),
        'changes', jsonb_build_object(
            'departure_gate', jsonb_build_array(OLD.departure_gate, NEW.departure_gate)),
        'at', clock_timestamp())::text);
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS zz_bench_fanout_notify ON flights;
-- Row events for the Supabase-compatible target, captured for every target alike.
INSERT INTO realtime_tables (table_name) VALUES ('flights') ON CONFLICT DO NOTHING;
CREATE TRIGGER zz_bench_fanout_notify
    AFTER UPDATE OF departure_gate ON flights
    FOR EACH ROW WHEN (OLD.departure_gate IS DISTINCT FROM NEW.departure_gate)
    EXECUTE FUNCTION bench_fanout_notify();
"""

_GATE_CHANGE = "UPDATE flights SET departure_gate = $1 WHERE id = $2"
# Many flights in one statement: each row gets a gate of its own ("B7-1234"), never used before.
_BULK_GATE_CHANGE = (
    "UPDATE flights SET departure_gate = $1 || '-' || id::text WHERE id = ANY($2::bigint[])"
)


@dataclass(frozen=True)
class Board:
    iata: str
    flight_ids: list[int]


async def prepare(dsn: str) -> Board:
    """Install the peers' trigger and pick the busiest live departures board."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(PEER_NOTIFY_SQL)
        [(iata, ids)] = await busiest_boards(conn, 1)
    finally:
        await conn.close()
    return Board(iata, ids)


@dataclass
class Commits:
    """Events committed by one phase: how many and how long each ``UPDATE`` took."""

    count: int
    started: float
    ended: float
    durations: list[float]


class GateChanges:
    """Commits gate changes on a board's flights, each with a gate never used before."""

    def __init__(self, dsn: str, board: Board) -> None:
        self.dsn = dsn
        self.board = board
        self.sequence = 0

    def _next(self) -> tuple[str, int]:
        self.sequence += 1
        ids = self.board.flight_ids
        return f"G{self.sequence}", ids[self.sequence % len(ids)]

    async def paced(self, count: int, rate: float) -> Commits:
        """``count`` events, one every ``1 / rate`` seconds."""
        conn = await asyncpg.connect(self.dsn)
        try:
            durations = []
            started = time.time()
            for n in range(count):
                delay = started + n / rate - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                t0 = time.perf_counter()
                await conn.execute(_GATE_CHANGE, *self._next())
                durations.append(time.perf_counter() - t0)
            return Commits(count, started, time.time(), durations)
        finally:
            await conn.close()

    async def burst(self, count: int, seconds: float) -> Commits:
        """Back-to-back events: ``count`` of them, or as many as ``seconds`` allows."""
        conn = await asyncpg.connect(self.dsn)
        try:
            durations = []
            started = time.time()
            deadline = time.perf_counter() + seconds
            while len(durations) < count and time.perf_counter() < deadline:
                t0 = time.perf_counter()
                await conn.execute(_GATE_CHANGE, *self._next())
                durations.append(time.perf_counter() - t0)
            return Commits(len(durations), started, time.time(), durations)
        finally:
            await conn.close()

    async def bulk(self, count: int) -> Commits:
        """``count`` gate changes in one transaction, as a bulk schedule update makes them.

        One commit sends one NOTIFY to Skybound (its payload is the transaction id), so
        the listener releases all ``count`` events at once; the peers' trigger sends one
        NOTIFY per row. Board flights are updated in turns, each statement with new gates.
        """
        ids = self.board.flight_ids
        conn = await asyncpg.connect(self.dsn)
        try:
            started = time.time()
            t0 = time.perf_counter()
            async with conn.transaction():
                left = count
                while left > 0:
                    self.sequence += 1
                    batch = ids[: min(left, len(ids))]
                    await conn.execute(_BULK_GATE_CHANGE, f"B{self.sequence}", batch)
                    left -= len(batch)
            return Commits(count, started, time.time(), [time.perf_counter() - t0])
        finally:
            await conn.close()
