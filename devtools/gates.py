"""Departure gates without conflicts: no two departures at one gate within a turn time.

A departure occupies its gate for its aircraft's turn time before it leaves (the inbound
unloads, the aircraft is cleaned and boarded there). Planning a day keeps each flight's
gate when it is free and otherwise moves it to a free gate of the same pier (or opens
one); the simulator asks for a free gate again when a delay or a gate change moves a
departure onto an occupied gate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from devtools.rotations import turn_time

_DIGITS = "0123456789"


@dataclass(frozen=True, slots=True)
class GateUse:
    gate: str
    departure: datetime
    turn: timedelta


def conflicts(a: GateUse, b: GateUse) -> bool:
    """Whether two departures at one gate are less than the later one's turn apart."""
    earlier, later = (a, b) if a.departure <= b.departure else (b, a)
    return later.departure - later.turn < earlier.departure


def pier(gate: str | None) -> str:
    return (gate or "").rstrip(_DIGITS)


def free_gate(wanted: str | None, departure: datetime, turn: timedelta,
              others: Iterable[GateUse]) -> str:  # fmt: skip
    """``wanted`` if free at ``departure``, else the lowest free gate of its pier among
    those in use nearby, else a new one after them."""
    mine = GateUse(wanted or "", departure, turn)
    busy = {o.gate for o in others if conflicts(mine, GateUse(o.gate, o.departure, o.turn))}
    known = {o.gate for o in others}
    if wanted and wanted not in busy:
        return wanted
    prefix = pier(wanted)
    same_pier = sorted(
        (g for g in known if pier(g) == prefix and g[len(prefix) :].isdigit()),
        key=lambda g: int(g[len(prefix) :]),
    )
    for gate in same_pier:
        if gate not in busy:
            return gate
    numbers = [int(g[len(prefix) :]) for g in same_pier] or [0]
    return f"{prefix}{max(numbers) + 1}"


_DEPARTURES = """
SELECT id, origin, aircraft_type, departure_gate, scheduled_departure >= $2 AS movable,
       coalesce(estimated_departure, scheduled_departure) AS departure
FROM flights
WHERE scheduled_departure >= $1 AND scheduled_departure < $3 AND status <> 'cancelled'
  AND ($4::text[] IS NULL OR origin = ANY($4::text[]))
ORDER BY origin, departure, id
"""
# The evening before is planned already: its late departures hold their gates.
_LOOKBACK = timedelta(hours=3)

_SET_GATE = """
UPDATE flights SET departure_gate = x.gate
FROM unnest($1::bigint[], $2::text[]) AS x(id, gate)
WHERE flights.id = x.id AND flights.departure_gate IS DISTINCT FROM x.gate
RETURNING flights.id, flights.status, flights.version
"""


def plan_gates(departures: Sequence[asyncpg.Record]) -> dict[int, str]:
    """New gates for the movable departures (in departure order per airport) whose gate
    clashes with one before it."""
    by_airport: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for row in departures:
        by_airport[row["origin"]].append(row)
    moved: dict[int, str] = {}
    for rows in by_airport.values():
        placed: list[GateUse] = []
        for row in rows:
            turn = turn_time(row["aircraft_type"])
            recent = [p for p in placed if row["departure"] - p.departure < _LOOKBACK]
            gate = row["departure_gate"]
            if row["movable"]:
                gate = free_gate(gate, row["departure"], turn, recent)
            if gate is None:
                continue
            if gate != row["departure_gate"]:
                moved[row["id"]] = gate
            placed.append(GateUse(gate, row["departure"], turn))
    return moved


async def assign_gates(
    conn: asyncpg.Connection, day: date, airports: Sequence[str] | None = None
) -> list[asyncpg.Record]:
    """Plan the departure gates of UTC ``day`` (the day before, as airports do) at
    ``airports`` (default: all); returns the flights that moved gate (id, status, version)."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    end = start + timedelta(days=1)
    departures = await conn.fetch(_DEPARTURES, start - _LOOKBACK, start, end, airports)
    moved = plan_gates(departures)
    if not moved:
        return []
    rows: list[asyncpg.Record] = await conn.fetch(_SET_GATE, list(moved), list(moved.values()))
    return rows
