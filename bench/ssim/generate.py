"""An SSIM file of the seed generator's schedule: the same legs ``skybound seed`` loads.

Each daily pattern of ``devtools.seed.Schedule`` becomes leg records: its dates
of operation grouped by what one record can state (UTC variations at both
ends, local arrival time and day), each group written as periods with days of
operation. A pattern crossing a daylight-saving change at either end therefore
gets one record per side of the change, as airlines file them.

    .venv/bin/python -m bench.ssim.generate --flights 1000000 --days 365 \
        --start 2027-01-04 --output schedule.ssim
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from devtools.seed import Schedule
from devtools.seed.reference import airports
from domain.schedules.periods import periods
from domain.schedules.ssim import (
    LegRecord,
    carrier_record,
    header_record,
    leg_record,
    trailer_record,
)

Variant = tuple[timedelta, time, timedelta, int]


def _variants(
    schedule: Schedule, index: int, zones: dict[str, ZoneInfo]
) -> dict[Variant, list[date]]:
    """The pattern's dates of operation, by the record that can state them."""
    pattern = schedule.patterns[index]
    per_day = schedule.per_day
    origin, destination = pattern.time_zone, zones[pattern.destination]
    found: dict[Variant, list[date]] = defaultdict(list)
    for day_index in range(schedule.days):
        if day_index * per_day + index >= schedule.flights:
            break
        day = schedule.start_date + timedelta(days=day_index)
        # As the seed computes it: local wall time at the origin on that day.
        departure = datetime.combine(day, pattern.departure, origin).astimezone(UTC)
        arrival = (departure + pattern.block).astimezone(destination)
        local_departure = departure.astimezone(origin)
        key = (
            local_departure.utcoffset() or timedelta(0),
            arrival.time().replace(tzinfo=None),
            arrival.utcoffset() or timedelta(0),
            (arrival.date() - day).days,
        )
        found[key].append(day)
    return found


def ssim_lines(schedule: Schedule, created: date) -> Iterator[str]:
    """Every record of the file, without line ends."""
    zones = {a.iata: ZoneInfo(a.time_zone) for a in airports()}
    by_carrier: dict[str, list[int]] = defaultdict(list)
    for index, pattern in enumerate(schedule.patterns):
        by_carrier[pattern.carrier].append(index)
    last_day = schedule.start_date + timedelta(days=schedule.days - 1)
    serial = 1
    yield header_record(serial)
    for carrier in sorted(by_carrier):
        serial += 1
        yield carrier_record(serial, carrier, schedule.start_date, last_day, created)
        indexes = sorted(by_carrier[carrier], key=lambda i: schedule.patterns[i].flight_number)
        for index in indexes:
            p = schedule.patterns[index]
            variation = 0
            for (dep_offset, arrival, arr_offset, arrival_day), days in _variants(
                schedule, index, zones
            ).items():
                for period in periods(days):
                    variation = variation % 99 + 1
                    serial += 1
                    yield leg_record(serial, LegRecord(
                        record_no=0, carrier=carrier, flight_number=p.flight_number,
                        operational_suffix="", itinerary_variation=variation, leg_sequence=1,
                        service_type="J", period_from=period.start, period_to=period.end,
                        days=period.days, frequency_rate=1, origin=p.origin,
                        departure=p.departure, departure_utc_offset=dep_offset,
                        departure_terminal=p.departure_terminal, destination=p.destination,
                        arrival=arrival, arrival_utc_offset=arr_offset,
                        arrival_terminal=p.arrival_terminal, aircraft_type=p.aircraft_type,
                        departure_day=0, arrival_day=arrival_day,
                    ))  # fmt: skip
        serial += 1
        yield trailer_record(serial, carrier, created)


def write_file(schedule: Schedule, output: Path, created: date) -> int:
    """Write the file; the number of records."""
    count = 0
    with output.open("w", encoding="ascii", newline="\n") as out:
        for line in ssim_lines(schedule, created):
            out.write(line + "\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flights", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    schedule = Schedule(flights=args.flights, days=args.days, seed=args.seed,
                        start_date=args.start)  # fmt: skip
    records = write_file(schedule, args.output, args.start)
    print(f"wrote {records:,} records for {args.flights:,} legs to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
