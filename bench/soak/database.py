"""The soak's database side: which boards and flights the clients watch, the paced writer,
and the change log the clients are checked against at the end.

Every event is one autocommit ``UPDATE`` of a watched airport's departing flight,
alternately a new gate (``flight.gate_changed``) and a new estimated departure
(``flight.delayed``). Skybound's capture trigger turns each into one
``change_events`` row on ``flight:{id}``, ``board:{origin}:departures`` and
``board:{destination}:arrivals``; that table is the truth the clients are counted
against, so an UPDATE that happened to change nothing costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from bench.harness.boards import busiest_boards

_GATE_CHANGE = "UPDATE flights SET departure_gate = $2 WHERE id = $1"
# A different estimate each time: the sequence number, in seconds after the schedule.
_ESTIMATE_CHANGE = (
    "UPDATE flights SET estimated_departure = scheduled_departure + make_interval(secs => $2) "
    "WHERE id = $1"
)

_NEWEST = "SELECT coalesce(max(id), 0) FROM change_events"
_EVENTS_AFTER = "SELECT id, topics, created_at FROM change_events WHERE id > $1 ORDER BY id"


@dataclass(frozen=True)
class Watched:
    airports: list[str]
    flights: list[int]


async def watched(dsn: str, airports: int) -> Watched:
    """The busiest ``airports`` boards and their departures: the flights the writer changes."""
    conn = await asyncpg.connect(dsn)
    try:
        boards = await busiest_boards(conn, airports)
    finally:
        await conn.close()
    return Watched([iata for iata, _ids in boards], [i for _iata, ids in boards for i in ids])


async def newest_event(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(_NEWEST))
    finally:
        await conn.close()


@dataclass
class Written:
    """What the writer did, by minute of the run (1-based)."""

    ok: Counter[int] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    behind_max: float = 0.0
    commit_seconds: list[float] = field(default_factory=list)


class Writer:
    """``rate`` UPDATEs a second from ``t0`` for ``seconds``, over a few connections so one
    slow commit does not hold up the schedule; each is due at ``t0 + n / rate``."""

    def __init__(
        self, dsn: str, flights: list[int], rate: float, seed: int, connections: int = 4
    ) -> None:
        self.dsn = dsn
        self.order = list(flights)
        random.Random(seed).shuffle(self.order)
        self.rate = rate
        self.connections = connections
        self.written = Written()
        self._next = 0

    async def run(self, t0: float, seconds: float) -> Written:
        total = int(self.rate * seconds)
        conns = [await asyncpg.connect(self.dsn) for _ in range(self.connections)]
        try:
            await asyncio.wait_for(
                asyncio.gather(*(self._work(c, t0, total) for c in conns)), seconds + 60
            )
        except TimeoutError:
            self.written.failed["writer still running 60 s after the end"] += 1
        finally:
            for conn in conns:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), 5)
        return self.written

    async def _work(self, conn: asyncpg.Connection, t0: float, total: int) -> None:
        written = self.written
        while self._next < total:
            n = self._next
            self._next += 1
            due = t0 + n / self.rate
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                written.behind_max = max(written.behind_max, -delay)
            flight = self.order[n % len(self.order)]
            started = time.perf_counter()
            try:
                if n % 2:
                    await conn.execute(_ESTIMATE_CHANGE, flight, float(60 + n))
                else:
                    await conn.execute(_GATE_CHANGE, flight, f"S{n}")
            except (asyncpg.PostgresError, OSError) as exc:
                written.failed[type(exc).__name__] += 1
                continue
            if len(written.commit_seconds) < 200_000:
                written.commit_seconds.append(time.perf_counter() - started)
            written.ok[1 + int((time.time() - t0) // 60)] += 1


@dataclass(frozen=True)
class ChangeLog:
    """The events of the run, as the database has them."""

    first_id: int
    minute_of: list[int]  # by id - first_id: the run minute it was written in, or -1
    topics: dict[str, list[int]]
    per_minute: Counter[int]

    def finals(self) -> dict[str, int]:
        return {topic: ids[-1] for topic, ids in self.topics.items() if ids}


async def change_log(
    dsn: str, after_id: int, t0: float, minutes: int, watched: set[str]
) -> ChangeLog:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(_EVENTS_AFTER, after_id)
    finally:
        await conn.close()
    first_id = after_id + 1
    last_id = rows[-1]["id"] if rows else after_id
    minute_of = [-1] * (last_id - after_id)
    topics: dict[str, list[int]] = {}
    per_minute: Counter[int] = Counter()
    for row in rows:
        minute = max(0, min(minutes, 1 + int((row["created_at"].timestamp() - t0) // 60)))
        minute_of[row["id"] - first_id] = minute
        per_minute[minute] += 1
        for topic in row["topics"]:
            if topic in watched:
                topics.setdefault(topic, []).append(row["id"])
    return ChangeLog(first_id, minute_of, topics, per_minute)
