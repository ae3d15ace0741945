"""Legs by date from SSIM leg records: periods, days of operation and UTC variations.

A leg record says "this leg departs at 07:35 local (UTC-0500) on Mondays and
Fridays from 1 to 31 March". Expansion turns it into one row per date of
operation, dated by the local departure date at the origin (a leg's
``service_date``), with departure and arrival instants computed from the
record's own UTC variations, as SSIM intends. The airport's time zone is the
check, not the source: a variation that disagrees with the zone on some date is
reported with the record and station, so a stale file is noticed rather than
silently "corrected".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.schedules.ssim import CarrierSchedule, LegRecord, SsimFile, format_offset
from foundation.errors import FieldError

ONE_DAY = timedelta(days=1)
# Longer than any scheduled flight: an arrival further out is a wrong date variation.
MAX_BLOCK = timedelta(hours=24)

# Column order of expanded legs, as COPY takes them into the staging table.
LEG_COLUMNS = (
    "record_no",
    "carrier",
    "flight_number",
    "service_date",
    "origin",
    "destination",
    "aircraft_type",
    "scheduled_departure",
    "scheduled_arrival",
    "departure_terminal",
    "arrival_terminal",
)
LegRow = tuple[int, str, int, date, str, str, str, datetime, datetime, str | None, str | None]


@dataclass(frozen=True, slots=True)
class ScheduleReference:
    """What a schedule is checked against: known carriers, airports (their time
    zones) and aircraft types that have a seat layout."""

    carriers: frozenset[str]
    airport_zones: dict[str, str]
    aircraft_types: frozenset[str]


@dataclass(slots=True)
class OffsetMismatch:
    """A record's UTC variation at a station that its time zone contradicts."""

    record_no: int
    station: str
    stated: str
    zone: str
    zone_offset: str
    legs: int
    first_date: date

    def as_dict(self) -> dict[str, object]:
        return {
            "record": self.record_no,
            "station": self.station,
            "stated": self.stated,
            "time_zone": self.zone,
            "zone_offset": self.zone_offset,
            "legs": self.legs,
            "first_date": self.first_date.isoformat(),
        }


@dataclass(slots=True)
class Expansion:
    """Expands a parsed file into leg rows, collecting what it finds on the way.

    ``check()`` finds record-level problems (unknown carriers, stations, aircraft
    types) before any leg is produced; ``rows()`` yields legs lazily and records
    leg-level problems (an arrival before its departure) and offset mismatches,
    complete once the iterator is exhausted.
    """

    schedule: SsimFile
    reference: ScheduleReference
    errors: list[FieldError] = field(default_factory=list)
    mismatches: dict[tuple[int, str, str], OffsetMismatch] = field(default_factory=dict)
    legs: int = 0

    def _fail(self, record_no: int, name: str, message: str, code: str = "invalid") -> None:
        self.errors.append(
            FieldError(
                f"records.{record_no}.{name}", f"record {record_no}: {name}: {message}", code
            )
        )

    def check(self) -> list[FieldError]:
        ref = self.reference
        for carrier in self.schedule.carriers:
            if carrier.carrier not in ref.carriers:
                self._fail(carrier.record_no, "airline", f"unknown carrier {carrier.carrier!r}",
                           "unknown_carrier")  # fmt: skip
            for leg in carrier.legs:
                for name, station in (("departure_station", leg.origin),
                                      ("arrival_station", leg.destination)):  # fmt: skip
                    if station not in ref.airport_zones:
                        self._fail(leg.record_no, name, f"unknown airport {station!r}",
                                   "unknown_airport")  # fmt: skip
                if leg.aircraft_type not in ref.aircraft_types:
                    self._fail(leg.record_no, "aircraft_type",
                               f"unknown aircraft type {leg.aircraft_type!r}: no seat layout",
                               "unknown_aircraft_type")  # fmt: skip
        return self.errors

    @property
    def periods(self) -> dict[str, tuple[date, date]]:
        """Each carrier's period of schedule validity (type 2), widened to its legs."""
        found: dict[str, tuple[date, date]] = {}
        for c in self.schedule.carriers:
            start, end = found.get(c.carrier, (c.validity_from, c.validity_to))
            found[c.carrier] = (min(start, c.validity_from), max(end, c.validity_to))
        return found

    def rows(self) -> Iterator[LegRow]:
        zones = {code: ZoneInfo(name) for code, name in self.reference.airport_zones.items()}
        for carrier in self.schedule.carriers:
            for leg in carrier.legs:
                yield from self._leg_rows(carrier, leg, zones)

    def _leg_rows(
        self, carrier: CarrierSchedule, leg: LegRecord, zones: dict[str, ZoneInfo]
    ) -> Iterator[LegRow]:
        origin_zone, destination_zone = zones[leg.origin], zones[leg.destination]
        dep_offset, arr_offset = leg.departure_utc_offset, leg.arrival_utc_offset
        local = carrier.local_times
        # In local time mode the times are wall-clock times at each station; in UTC
        # mode they are UTC already, and the dates of the period are UTC dates.
        dep_shift = dep_offset if local else timedelta(0)
        arr_shift = arr_offset if local else timedelta(0)
        combine = datetime.combine
        fortnightly = leg.frequency_rate == 2
        day = leg.period_from
        while day <= leg.period_to:
            if day.isoweekday() in leg.days and not (
                fortnightly and (day - leg.period_from).days // 7 % 2
            ):
                departure = combine(day + leg.departure_day * ONE_DAY, leg.departure, UTC)
                departure -= dep_shift
                if leg.arrival_day is None:
                    # Not stated: the first arrival after the departure (overnight: +1 day).
                    arrival = combine(day, leg.arrival, UTC) - arr_shift
                    while arrival <= departure:
                        arrival += ONE_DAY
                else:
                    arrival = combine(day + leg.arrival_day * ONE_DAY, leg.arrival, UTC)
                    arrival -= arr_shift
                if not departure < arrival <= departure + MAX_BLOCK:
                    self._fail(leg.record_no, "arrival_date_variation",
                               f"on {day.isoformat()} the leg would arrive "
                               f"{'before it departs' if arrival <= departure else 'after 24 h'}",
                               "arrival_time")  # fmt: skip
                    return
                local_departure = departure + dep_offset
                service_date = local_departure.date()
                self._check_offset(leg, leg.origin, origin_zone, local_departure, dep_offset,
                                   service_date)  # fmt: skip
                self._check_offset(leg, leg.destination, destination_zone,
                                   arrival + arr_offset, arr_offset, service_date)  # fmt: skip
                self.legs += 1
                yield (
                    leg.record_no,
                    leg.carrier,
                    leg.flight_number,
                    service_date,
                    leg.origin,
                    leg.destination,
                    leg.aircraft_type,
                    departure,
                    arrival,
                    leg.departure_terminal,
                    leg.arrival_terminal,
                )
            day += ONE_DAY

    def _check_offset(
        self,
        leg: LegRecord,
        station: str,
        zone: ZoneInfo,
        local: datetime,
        stated: timedelta,
        service_date: date,
    ) -> None:
        actual = local.replace(tzinfo=zone).utcoffset()
        if actual == stated or actual is None:
            return
        # A wall time in the hour repeated when clocks go back has two offsets: either is
        # right (fold=1 is the second pass, after the change).
        if local.replace(tzinfo=zone, fold=1).utcoffset() == stated:
            return
        key = (leg.record_no, station, format_offset(actual))
        found = self.mismatches.get(key)
        if found is None:
            self.mismatches[key] = OffsetMismatch(
                leg.record_no, station, format_offset(stated), zone.key, key[2], 1, service_date
            )
        else:
            found.legs += 1
