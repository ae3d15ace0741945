"""Where a search's time goes: the domain's ``SearchService`` run in this process, timed.

The same searches as the HTTP load, one at a time, against the same database,
with no HTTP in between. Wrappers around the service's own steps (nothing is
reimplemented) split each search into:

- *SQL*: awaiting the leg queries (PostgreSQL, the protocol and asyncpg's record decoding);
- *join*: the rest of finding a slice's itineraries (legs built, connections matched);
- *combine*: pricing every option per fare brand and the k-best combination of slices;
- *offer models*: building the page's offer models (signed ids included);
- *other*: validation, reference data, hashing, cache lookups, paging;
- *serialise*: the response model to the JSON bytes the server sends (and the response
  cache keeps);
- *of which GC*: time in the cyclic garbage collector during the search, whichever step
  triggered it (``gc.callbacks``).

The driver runs it with the caches off, warm, and filling up as on a busy server. Also
counts which flights indexes the leg queries used (``pg_stat_user_indexes``).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from bench.search.mix import CATEGORIES, LABELS, Search
from domain.reference import ReferenceCache
from domain.search.cache import MemorySearchCache
from domain.search.models import SearchRequest
from domain.search.service import SearchService
from foundation.database import create_pool

STEPS = ("sql", "join", "combine", "offers", "other", "serialise")
# Not a step of its own: collections run inside whichever step allocated.
GC = "gc"
_INDEX_USE = """
SELECT indexrelname AS name, idx_scan AS scans, idx_tup_read AS tuples
FROM pg_stat_user_indexes WHERE relname = 'flights'
UNION ALL
SELECT '(seq scan)', seq_scan, seq_tup_read FROM pg_stat_user_tables WHERE relname = 'flights'
"""


@dataclass
class Clock:
    sql: float = 0.0
    queries: int = 0
    slices: float = 0.0
    combine: float = 0.0
    offers: float = 0.0
    serialise: float = 0.0


class _TimedConnection:
    def __init__(self, conn: asyncpg.Connection, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> list[asyncpg.Record]:
        started = time.perf_counter()
        try:
            return list(await self._conn.fetch(query, *args, **kwargs))
        finally:
            self._clock.sql += time.perf_counter() - started
            self._clock.queries += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _TimedPool:
    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[_TimedConnection]:
        async with self._pool.acquire() as conn:
            yield _TimedConnection(conn, self._clock)


def _timed(clock: Clock, attribute: str, function: Any, *, is_async: bool) -> Any:
    """``function`` adding its wall time to ``clock.<attribute>``."""
    if is_async:

        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                setattr(clock, attribute, getattr(clock, attribute) + time.perf_counter() - started)

        return timed_async

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            setattr(clock, attribute, getattr(clock, attribute) + time.perf_counter() - started)

    return timed


@dataclass
class Timing:
    category: str
    total: float
    steps: dict[str, float]
    queries: int
    offers: int
    failed: str | None = None


@dataclass
class Breakdown:
    label: str
    timings: list[Timing] = field(default_factory=list)
    barrier_ms: float = 0.0
    gc_longest_ms: float = 0.0
    gc_objects: int = 0
    index_use: dict[str, tuple[int, int]] = field(default_factory=dict)

    def mean_ms(self, category: str | None, step: str) -> float:
        rows = [t for t in self.timings if t.failed is None and category in (None, t.category)]
        if not rows:
            return float("nan")
        values = [t.total if step == "total" else t.steps[step] for t in rows]
        return sum(values) / len(values) * 1000


async def _index_use(conn: asyncpg.Connection) -> dict[str, tuple[int, int]]:
    await conn.execute("SELECT pg_stat_force_next_flush()")
    # Reading the stats snapshot in a fresh transaction sees what was just flushed.
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return {r["name"]: (int(r["scans"]), int(r["tuples"])) for r in await conn.fetch(_INDEX_USE)}


class _GcClock:
    """Time spent in the cyclic garbage collector (``gc.callbacks``), and its longest pause."""

    def __init__(self) -> None:
        self.total = 0.0
        self.longest = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            pause = time.perf_counter() - self._started
            self.total += pause
            self.longest = max(self.longest, pause)


async def run(
    dsn: str,
    label: str,
    searches: Sequence[Search],
    *,
    slice_cache: bool,
    response_cache: bool,
    warm: Sequence[Search] = (),
) -> Breakdown:
    """Time ``searches`` one at a time after running ``warm`` (which fills the caches on)."""
    clock = Clock()
    pool = await create_pool(dsn, min_size=1, max_size=1, application_name="bench-breakdown")
    collector = _GcClock()
    try:
        cache = MemorySearchCache() if slice_cache else MemorySearchCache(max_entries=0)
        service = SearchService(
            _TimedPool(pool, clock),  # type: ignore[arg-type]
            ReferenceCache(pool),
            cache,
            b"bench",
            response_cache_entries=5_000 if response_cache else 0,
        )
        service._find = _timed(clock, "slices", service._find, is_async=True)  # type: ignore[method-assign]
        service._combine = _timed(clock, "combine", service._combine, is_async=False)  # type: ignore[method-assign]
        service._offer = _timed(clock, "offers", service._offer, is_async=False)  # type: ignore[method-assign]
        service._body = _timed(clock, "serialise", service._body, is_async=False)  # type: ignore[method-assign]
        for search in warm:
            await service.search(SearchRequest.model_validate(search.body))
        requests = [SearchRequest.model_validate(s.body) for s in searches]
        result = Breakdown(label)
        async with pool.acquire() as conn:
            before = await _index_use(conn)
        gc.callbacks.append(collector)
        for search, request in zip(searches, requests, strict=True):
            for name in ("sql", "slices", "combine", "offers", "serialise"):
                setattr(clock, name, 0.0)
            clock.queries = 0
            collected = collector.total
            started = time.perf_counter()
            try:
                body = await service.search(request)
            except Exception as exc:  # a timed-out search: counted, not timed
                result.timings.append(Timing(search.category, 0, {}, 0, 0, type(exc).__name__))
                continue
            total = time.perf_counter() - started
            steps = {
                "sql": clock.sql,
                "join": clock.slices - clock.sql,
                "combine": clock.combine,
                "offers": clock.offers,
                "other": total - clock.slices - clock.combine - clock.offers - clock.serialise,
                "serialise": clock.serialise,
                "gc": collector.total - collected,
            }
            offers = len(orjson.loads(body)["offers"])
            result.timings.append(Timing(search.category, total, steps, clock.queries, offers))
        gc.callbacks.remove(collector)
        result.gc_longest_ms = collector.longest * 1000
        result.gc_objects = len(gc.get_objects())
        async with pool.acquire() as conn:
            after = await _index_use(conn)
            # The catch-up check the server runs before a cache serves a search
            # (domain/search/setup.py); timed here on its own.
            started = time.perf_counter()
            for _ in range(200):
                await conn.fetchval("SELECT coalesce(max(id), 0) FROM change_events")
            result.barrier_ms = (time.perf_counter() - started) / 200 * 1000
        result.index_use = {
            name: (after[name][0] - before.get(name, (0, 0))[0],
                   after[name][1] - before.get(name, (0, 0))[1])
            for name in after
        }  # fmt: skip
        return result
    finally:
        if collector in gc.callbacks:
            gc.callbacks.remove(collector)
        await pool.close()


def render(results: Sequence[Breakdown]) -> list[str]:
    out = []
    for b in results:
        failed = sum(1 for t in b.timings if t.failed)
        out += [
            f"**{b.label}** ({len(b.timings)} searches one at a time"
            + (f", {failed} failed" if failed else "")
            + "; mean ms per search)",
            "",
            "| category | total | SQL | join | combine | offer models | other | serialise | "
            "of which GC | queries | offers returned |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for category in (*CATEGORIES, None):
            rows = [t for t in b.timings if t.failed is None and category in (None, t.category)]
            if not rows:
                continue
            cells = [f"{b.mean_ms(category, step):.2f}" for step in ("total", *STEPS, GC)]
            queries = sum(t.queries for t in rows) / len(rows)
            offers = sum(t.offers for t in rows) / len(rows)
            name = LABELS[category] if category else "all"
            out.append(f"| {name} | " + " | ".join(cells) + f" | {queries:.1f} | {offers:.1f} |")
        out.append("")
        total = b.mean_ms(None, "total")
        if total > 0:
            sql = b.mean_ms(None, "sql")
            collected = b.mean_ms(None, GC)
            out.append(
                f"SQL is {sql / total:.0%} of the in-process time (serialising included), "
                f"Python {1 - sql / total:.0%}; the cyclic garbage collector "
                f"{collected / total:.0%} (longest pause {b.gc_longest_ms:,.0f} ms; "
                f"{b.gc_objects:,} objects tracked at the end). On the server, the catch-up "
                "check before a cache serves a search (`SELECT max(id) FROM change_events`) "
                f"adds {b.barrier_ms:.2f} ms to it; a search that reads nothing cached skips it."
            )
        used = {k: v for k, v in b.index_use.items() if v[0]}
        if used:
            shown = ", ".join(f"`{k}` {v[0]:,} scans / {v[1]:,} tuples" for k, v in used.items())
            out.append(f"Flights access during these searches: {shown}.")
        out.append("")
    return out
