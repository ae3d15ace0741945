"""EXPLAIN (ANALYZE, BUFFERS) of the search leg queries and the departures board.

The parameters are the ones the server itself sends: the leg queries are
recorded while ``SliceSearch`` runs a two-stop search from the busiest hub to
the busiest airport it has no direct leg to, on a day a month out (economy, one
seat), and the board query is built as ``domain.boards.board`` builds it. Each
query runs once before it is explained, so the buffers read are the warm ones a
busy server sees. Each is explained twice: with a custom plan for these values
(as the first executions of a prepared statement get) and with
``plan_cache_mode = force_generic_plan`` (what a prepared statement may switch to
after five executions).

    python -m bench.search.explain --home DIR   # a seeded SKYBOUND_HOME
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from domain import boards
from domain.reference import load_reference
from domain.search import itineraries
from domain.search.itineraries import ConnectionRules, SliceSearch

_BUSIEST_ORIGIN = """
SELECT f.origin FROM flights f JOIN airports a ON a.iata = f.origin
WHERE a.is_hub GROUP BY f.origin ORDER BY count(*) DESC, f.origin LIMIT 1
"""
_BUSIEST_UNSERVED = """
SELECT destination FROM flights
WHERE destination <> $1
  AND destination NOT IN (SELECT destination FROM flights WHERE origin = $1)
GROUP BY destination ORDER BY count(*) DESC, destination LIMIT 1
"""
_SCAN = re.compile(r"((?:Parallel )?(?:Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)"
                   r"(?: Backward)?(?: using \S+)? on \S+)")  # fmt: skip


@dataclass(frozen=True)
class Explained:
    name: str
    sql: str
    args: tuple[Any, ...]
    plan: str
    generic_plan: str

    @property
    def scans(self) -> list[str]:
        return _SCAN.findall(self.plan)

    @property
    def generic_scans(self) -> list[str]:
        return _SCAN.findall(self.generic_plan)

    @staticmethod
    def execution_ms(plan: str) -> float:
        match = re.search(r"Execution Time: ([\d.]+) ms", plan)
        return float(match[1]) if match else float("nan")


class _Recording:
    """A connection that remembers every (query, args) it fetched."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        self.calls.append((query, args))
        return list(await self.conn.fetch(query, *args))


def _name_of(sql: str) -> str:
    for name in ("_FROM_ORIGIN", "_INTO_DESTINATION", "_BETWEEN"):
        if sql == getattr(itineraries, name):
            return name
    return "?"


async def _explain(conn: asyncpg.Connection, sql: str, args: Sequence[Any], generic: bool) -> str:
    await conn.fetch(sql, *args)  # warm the buffers
    async with conn.transaction():
        if generic:
            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
    return "\n".join(row[0] for row in rows)


async def leg_queries(
    dsn: str,
    conn: asyncpg.Connection,
    on: date | None = None,
    origin: str | None = None,
    destination: str | None = None,
) -> tuple[str, str, date, list[tuple[str, tuple[Any, ...]]]]:
    """(origin, destination, day, recorded calls) of one two-stop slice search."""
    origin = origin or await conn.fetchval(_BUSIEST_ORIGIN)
    destination = destination or await conn.fetchval(_BUSIEST_UNSERVED, origin)
    if on is None:
        first = await conn.fetchval("SELECT min(service_date) FROM flights")
        on = max(first, date.today()) + timedelta(days=30)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        ref = await load_reference(pool)
    finally:
        await pool.close()
    recording = _Recording(conn)
    finder = SliceSearch(recording, ref, ConnectionRules(), cabin="economy", seats=1)  # type: ignore[arg-type]
    _found, first_legs, last = await finder.direct_and_one_stop(origin, destination, on, 2)
    assert last is not None
    await finder.two_stop(origin, destination, on, first_legs, last)
    return origin, destination, on, recording.calls


async def explain_all(
    dsn: str, on: date | None = None, origin: str | None = None, destination: str | None = None
) -> tuple[dict[str, Any], list[Explained]]:
    conn = await asyncpg.connect(dsn)
    try:
        origin, destination, day, calls = await leg_queries(dsn, conn, on, origin, destination)
        out = []
        for sql, args in calls:
            plan = await _explain(conn, sql, args, generic=False)
            generic = await _explain(conn, sql, args, generic=True)
            out.append(Explained(_name_of(sql), sql, args, plan, generic))
        tz = await conn.fetchval("SELECT time_zone FROM airports WHERE iata = $1", origin)
        begin, end = boards.board_window(tz, on=day, start=None, hours=None)
        args = (origin, begin, end, 201)
        plan = await _explain(conn, boards._DEPARTURES, args, generic=False)
        generic = await _explain(conn, boards._DEPARTURES, args, generic=True)
        out.append(Explained("_DEPARTURES", boards._DEPARTURES, args, plan, generic))
        setting = {"origin": origin, "destination": destination, "day": day}
        return setting, out
    finally:
        await conn.close()


async def scans_of(dsn: str, calls: Sequence[tuple[str, tuple[Any, ...]]]) -> list[str]:
    """The scan nodes of each query's plan (no ANALYZE): for the naive baseline's notes."""
    conn = await asyncpg.connect(dsn)
    try:
        out = []
        for sql, args in calls:
            rows = await conn.fetch(f"EXPLAIN {sql}", *args)
            plan = "\n".join(row[0] for row in rows)
            out.append(f"{_name_of(sql)}: " + ", ".join(_SCAN.findall(plan)))
        return out
    finally:
        await conn.close()


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "{" + ",".join(str(v) for v in value) + "}"
    return str(value)


def render(setting: dict[str, Any], explained: Sequence[Explained]) -> str:
    out = [
        "# EXPLAIN (ANALYZE, BUFFERS): search leg queries and the departures board",
        "",
        f"A two-stop economy search for one seat, {setting['origin']} to "
        f"{setting['destination']} on {setting['day']} (local date at the origin), "
        f"and the departures board of {setting['origin']} for that day. Warm buffers.",
        "",
    ]
    for e in explained:
        shown = ", ".join(f"${n} = {_shown(v)}" for n, v in enumerate(e.args, start=1))
        out += [
            f"## {e.name}",
            "",
            f"Parameters: {shown}",
            "",
            "```",
            e.plan,
            "```",
            "",
            f"Generic plan: {', '.join(e.generic_scans) or 'no scan node'}; execution "
            f"{Explained.execution_ms(e.generic_plan):.3f} ms (custom: "
            f"{Explained.execution_ms(e.plan):.3f} ms).",
            "",
        ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search.explain", description=__doc__)
    parser.add_argument("--home", type=Path, required=True, help="a seeded SKYBOUND_HOME")
    parser.add_argument("--date", type=date.fromisoformat, help="the day (default: a month out)")
    parser.add_argument("--origin", help="IATA code (default: the busiest hub)")
    parser.add_argument(
        "--destination", help="IATA code (default: the busiest airport with no direct leg)"
    )
    parser.add_argument("--output", type=Path, help="also write the Markdown here")
    args = parser.parse_args(argv)

    from bench.harness.postgres import dsn_for
    from foundation.embedded import EmbeddedPostgres

    pg = EmbeddedPostgres(args.home.resolve() / "pgdata")
    pg.start()
    try:
        dsn = dsn_for(args.home.resolve() / "pgdata")
        found = explain_all(dsn, args.date, args.origin and args.origin.upper(),
                            args.destination and args.destination.upper())  # fmt: skip
        setting, explained = asyncio.run(found)
    finally:
        pg.stop()
    text = render(setting, explained)
    print(text)
    if args.output is not None:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
