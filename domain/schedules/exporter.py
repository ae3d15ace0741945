"""Flights out: as an SSIM schedule (periods and days of operation), CSV or JSON Lines.

Each export reads the flights of a date range through a server-side cursor and
yields text chunk by chunk, so a year of a large schedule streams in bounded
memory. Cancelled legs are not exported: a schedule lists what operates.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import orjson

from domain.schedules.periods import periods
from domain.schedules.ssim import (
    LegRecord,
    carrier_record,
    header_record,
    leg_record,
    trailer_record,
)
from domain.times import zone

# Rows fetched from the cursor at a time.
PREFETCH = 5_000

_CARRIER_RANGES = """
SELECT carrier, min(service_date) AS first_day, max(service_date) AS last_day
  FROM flights
 WHERE status <> 'cancelled' AND aircraft_type IS NOT NULL
   AND ($1::text IS NULL OR carrier = $1)
   AND ($2::date IS NULL OR service_date >= $2) AND ($3::date IS NULL OR service_date <= $3)
 GROUP BY carrier
 ORDER BY carrier
"""

_LEGS = """
SELECT f.flight_number, f.service_date, f.origin, f.destination, f.aircraft_type,
       f.scheduled_departure, f.scheduled_arrival, f.departure_terminal, f.arrival_terminal,
       o.time_zone AS origin_tz, d.time_zone AS destination_tz
  FROM flights f
  JOIN airports o ON o.iata = f.origin
  JOIN airports d ON d.iata = f.destination
 WHERE f.carrier = $1 AND f.status <> 'cancelled' AND f.aircraft_type IS NOT NULL
   AND f.service_date BETWEEN $2 AND $3
 ORDER BY f.flight_number, f.origin, f.service_date
"""


@dataclass(frozen=True, slots=True)
class _Variant:
    """What legs of one flight from one origin share when one record can state them."""

    destination: str
    departure: time
    departure_offset: timedelta
    arrival: time
    arrival_offset: timedelta
    arrival_day: int
    aircraft_type: str
    departure_terminal: str | None
    arrival_terminal: str | None


def _variant(row: asyncpg.Record) -> _Variant:
    departure = row["scheduled_departure"].astimezone(zone(row["origin_tz"]))
    arrival = row["scheduled_arrival"].astimezone(zone(row["destination_tz"]))
    return _Variant(
        destination=row["destination"],
        departure=departure.time().replace(tzinfo=None),
        departure_offset=departure.utcoffset() or timedelta(0),
        arrival=arrival.time().replace(tzinfo=None),
        arrival_offset=arrival.utcoffset() or timedelta(0),
        arrival_day=(arrival.date() - row["service_date"]).days,
        aircraft_type=row["aircraft_type"],
        departure_terminal=(row["departure_terminal"] or "")[:2] or None,
        arrival_terminal=(row["arrival_terminal"] or "")[:2] or None,
    )


class _Serials:
    def __init__(self) -> None:
        self.value = 0

    def next(self) -> int:
        self.value += 1
        return self.value


def _flight_records(
    carrier: str, number: int, origin: str, dates: dict[_Variant, list[date]], serials: _Serials,
    variation: list[int],
) -> list[str]:  # fmt: skip
    out = []
    for variant, days in sorted(dates.items(), key=lambda item: min(item[1])):
        for period in periods(days):
            variation[0] = variation[0] % 99 + 1
            leg = LegRecord(
                record_no=0,
                carrier=carrier,
                flight_number=number,
                operational_suffix="",
                itinerary_variation=variation[0],
                leg_sequence=1,
                service_type="J",
                period_from=period.start,
                period_to=period.end,
                days=period.days,
                frequency_rate=1,
                origin=origin,
                departure=variant.departure,
                departure_utc_offset=variant.departure_offset,
                departure_terminal=variant.departure_terminal,
                destination=variant.destination,
                arrival=variant.arrival,
                arrival_utc_offset=variant.arrival_offset,
                arrival_terminal=variant.arrival_terminal,
                aircraft_type=variant.aircraft_type,
                departure_day=0,
                arrival_day=variant.arrival_day,
            )
            out.append(leg_record(serials.next(), leg))
    return out


async def export_ssim(
    conn: asyncpg.Connection,
    *,
    carrier: str | None = None,
    first: date | None = None,
    last: date | None = None,
    today: date | None = None,
) -> AsyncIterator[str]:
    """SSIM records (each 200 characters plus a newline) of the flights in range.

    A carrier's period of validity is the range asked for, or the dates its legs
    span when the range is open, so re-importing the file judges missing legs
    over exactly what was exported.
    """
    created = today or datetime.now(UTC).date()
    serials = _Serials()
    yield header_record(serials.next()) + "\n"
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        ranges = await conn.fetch(_CARRIER_RANGES, carrier, first, last)
        for r in ranges:
            code = r["carrier"]
            start, end = first or r["first_day"], last or r["last_day"]
            yield carrier_record(serials.next(), code, start, end, created) + "\n"
            block: tuple[int, str] | None = None
            dates: dict[_Variant, list[date]] = defaultdict(list)
            variation = [0]
            async for row in conn.cursor(_LEGS, code, start, end, prefetch=PREFETCH):
                key = (row["flight_number"], row["origin"])
                if key != block:
                    if block is not None:
                        if block[0] != key[0]:
                            variation[0] = 0
                        lines = _flight_records(code, *block, dates, serials, variation)
                        yield "".join(line + "\n" for line in lines)
                    block, dates = key, defaultdict(list)
                dates[_variant(row)].append(row["service_date"])
            if block is not None:
                lines = _flight_records(code, *block, dates, serials, variation)
                yield "".join(line + "\n" for line in lines)
            yield trailer_record(serials.next(), code, created) + "\n"


# CSV and JSON Lines -------------------------------------------------------------------

FLIGHT_EXPORT_COLUMNS = (
    "id",
    "carrier",
    "flight_number",
    "service_date",
    "origin",
    "destination",
    "aircraft_type",
    "scheduled_departure",
    "scheduled_arrival",
    "status",
    "departure_terminal",
    "departure_gate",
    "arrival_terminal",
    "arrival_gate",
)

_FLIGHTS = f"""
SELECT {", ".join(FLIGHT_EXPORT_COLUMNS)}
  FROM flights
 WHERE service_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR carrier = $3)
 ORDER BY service_date, carrier, flight_number, origin
"""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip()
    return value


async def _flight_rows(
    conn: asyncpg.Connection, first: date, last: date, carrier: str | None
) -> AsyncIterator[list[Any]]:
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        async for row in conn.cursor(_FLIGHTS, first, last, carrier, prefetch=PREFETCH):
            yield [_plain(v) for v in row.values()]


async def export_csv(
    conn: asyncpg.Connection, *, first: date, last: date, carrier: str | None = None
) -> AsyncIterator[str]:
    """Flights of the range as CSV (RFC 4180, a header row, instants in UTC)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FLIGHT_EXPORT_COLUMNS)
    count = 0
    async for values in _flight_rows(conn, first, last, carrier):
        writer.writerow(values)
        count += 1
        if count % PREFETCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def export_jsonl(
    conn: asyncpg.Connection, *, first: date, last: date, carrier: str | None = None
) -> AsyncIterator[str]:
    """Flights of the range as JSON Lines: one object per leg."""
    chunk: list[bytes] = []
    async for values in _flight_rows(conn, first, last, carrier):
        chunk.append(orjson.dumps(dict(zip(FLIGHT_EXPORT_COLUMNS, values, strict=True))))
        if len(chunk) == PREFETCH:
            yield b"\n".join(chunk).decode() + "\n"
            chunk = []
    if chunk:
        yield b"\n".join(chunk).decode() + "\n"
