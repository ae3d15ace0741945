"""Airport boards: the departures or arrivals of a local time window, in time order."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from domain import examples
from domain.airports import Airport, get_airport
from domain.flights import FLIGHT_SELECT, Flight, flight_from_row
from domain.times import Instant, zone

BoardKind = Literal["departures", "arrivals"]

# A live board (no date asked for) starts a little in the past, so flights that
# just left or landed stay visible, as on a real airport display.
LIVE_LOOKBACK = timedelta(hours=1)

# Range scans on (origin, scheduled_departure) and (destination, scheduled_arrival).
_DEPARTURES = (
    FLIGHT_SELECT
    + """
WHERE f.origin = $1 AND f.scheduled_departure >= $2 AND f.scheduled_departure < $3
ORDER BY f.scheduled_departure, f.id
LIMIT $4
"""
)
_ARRIVALS = (
    FLIGHT_SELECT
    + """
WHERE f.destination = $1 AND f.scheduled_arrival >= $2 AND f.scheduled_arrival < $3
ORDER BY f.scheduled_arrival, f.id
LIMIT $4
"""
)


class BoardWindow(BaseModel):
    start: Instant
    end: Instant


class Board(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.BOARD]})

    airport: Airport
    kind: BoardKind
    window: BoardWindow
    flights: list[Flight]
    truncated: bool = Field(description="True when more flights fall in the window than `limit`.")


def board_window(
    time_zone: str,
    *,
    on: date | None,
    start: time | None,
    hours: int | None,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """The UTC bounds of a board: a local day (or part of one), or a live window from now."""
    tz = zone(time_zone)
    if on is None and start is None:
        begin = (now or datetime.now(UTC)) - LIVE_LOOKBACK
        return begin, begin + timedelta(hours=hours or 12)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    local_begin = datetime.combine(on or today, start or time(0), tzinfo=tz)
    if hours is None:
        # A whole local day ends at the next local midnight, 23 or 25 hours away on DST days.
        local_end = datetime.combine(local_begin.date() + timedelta(days=1), time(0), tzinfo=tz)
        return local_begin.astimezone(UTC), local_end.astimezone(UTC)
    begin_utc = local_begin.astimezone(UTC)
    return begin_utc, begin_utc + timedelta(hours=hours)


async def board(
    conn: asyncpg.Connection | asyncpg.Pool,
    iata: str,
    kind: BoardKind,
    *,
    on: date | None = None,
    start: time | None = None,
    hours: int | None = None,
    limit: int = 200,
    now: datetime | None = None,
) -> Board:
    airport = await get_airport(conn, iata)
    begin, end = board_window(airport.time_zone, on=on, start=start, hours=hours, now=now)
    query = _DEPARTURES if kind == "departures" else _ARRIVALS
    rows = await conn.fetch(query, airport.iata, begin, end, limit + 1)
    return Board(
        airport=airport,
        kind=kind,
        window=BoardWindow(
            start=Instant.of(begin, airport.time_zone), end=Instant.of(end, airport.time_zone)
        ),
        flights=[flight_from_row(row) for row in rows[:limit]],
        truncated=len(rows) > limit,
    )
