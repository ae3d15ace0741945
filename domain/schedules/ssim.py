"""IATA SSIM Chapter 7 records: read and write the fixed-width 200-byte schedule format.

A file is a header (type 1), then per carrier a carrier record (2), its flight
legs (3) with optional segment data (4), and a trailer (5). Zero-filled records
(type 0) pad blocks and are skipped. Field positions below are SSIM's, 1-based
and inclusive, so that they can be checked against the manual line by line.

Only what a schedule of legs needs is interpreted; every other field is kept
blank on writing and ignored on reading. Errors name the record by its position
in the file (1-based, the same as its serial number in a well-formed file) and
the field by SSIM's name for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import TypeVar

from foundation.errors import FieldError

RECORD_LENGTH = 200
HEADER_TITLE = "AIRLINE STANDARD SCHEDULE DATA SET"
# A period of operation's end "until further notice".
OPEN_ENDED = "00XXX00"
# SSIM month abbreviations; dates are DDMMMYY.
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(MONTHS)}
# Date variations: a digit is days after the flight's date, "A" the day before.
_DATE_VARIATION = {"0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "A": -1, " ": None}
_VARIATION_CODE = {0: "0", 1: "1", 2: "2", 3: "3", 4: "4", -1: "A"}

_CARRIER = re.compile(r"^[A-Z0-9]{2}[ A-Z]?$")
_STATION = re.compile(r"^[A-Z]{3}$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3])[0-5][0-9]$")
_OFFSET = re.compile(r"^[+-]([01][0-9]|2[0-3])[0-5][0-9]$")
_AIRCRAFT = re.compile(r"^[A-Z0-9]{3}$")

T = TypeVar("T")


def _span(first: int, last: int) -> slice:
    """SSIM's 1-based inclusive byte positions as a Python slice."""
    return slice(first - 1, last)


class Fields:
    """Positions of the fields that are read or written."""

    record_type = _span(1, 1)
    serial = _span(195, 200)
    # Type 1
    title = _span(2, 35)
    seasons = _span(41, 41)
    data_set_serial = _span(192, 194)
    # Type 2
    time_mode = _span(2, 2)
    airline = _span(3, 5)
    season = _span(11, 14)
    validity_from = _span(15, 21)
    validity_to = _span(22, 28)
    creation_date = _span(29, 35)
    title_of_data = _span(36, 64)
    schedule_status = _span(72, 72)
    # Type 3
    operational_suffix = _span(2, 2)
    flight_number = _span(6, 9)
    itinerary_variation = _span(10, 11)
    leg_sequence = _span(12, 13)
    service_type = _span(14, 14)
    period_from = _span(15, 21)
    period_to = _span(22, 28)
    days_of_operation = _span(29, 35)
    frequency_rate = _span(36, 36)
    departure_station = _span(37, 39)
    passenger_std = _span(40, 43)
    aircraft_std = _span(44, 47)
    departure_utc_variation = _span(48, 52)
    departure_terminal = _span(53, 54)
    arrival_station = _span(55, 57)
    aircraft_sta = _span(58, 61)
    passenger_sta = _span(62, 65)
    arrival_utc_variation = _span(66, 70)
    arrival_terminal = _span(71, 72)
    aircraft_type = _span(73, 75)
    aircraft_configuration = _span(173, 192)
    departure_date_variation = _span(193, 193)
    arrival_date_variation = _span(194, 194)
    # Type 4
    board_point = _span(34, 36)
    off_point = _span(37, 39)
    # Type 5
    release_date = _span(6, 12)
    serial_check = _span(188, 193)
    continuation = _span(194, 194)


class SsimError(ValueError):
    """A file that is not valid SSIM: every problem found, each naming record and field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the SSIM file; first: {errors[0].message}")
        self.errors = errors


@dataclass(frozen=True, slots=True)
class LegRecord:
    """One type 3 record: a leg flown on every selected day of a period."""

    record_no: int
    carrier: str
    flight_number: int
    operational_suffix: str
    itinerary_variation: int
    leg_sequence: int
    service_type: str
    period_from: date
    period_to: date
    # ISO weekdays (1 = Monday) on which the flight operates.
    days: frozenset[int]
    # 1: every week; 2: every other week, counted from period_from.
    frequency_rate: int
    origin: str
    departure: time  # passenger STD, in the carrier's time mode
    departure_utc_offset: timedelta  # local time minus UTC at the origin, as stated
    departure_terminal: str | None
    destination: str
    arrival: time  # passenger STA
    arrival_utc_offset: timedelta
    arrival_terminal: str | None
    aircraft_type: str
    # Days from the flight's date to this leg's departure and arrival; None: not given.
    departure_day: int
    arrival_day: int | None


@dataclass(frozen=True, slots=True)
class CarrierSchedule:
    """A type 2 record and the legs that follow it."""

    record_no: int
    carrier: str
    local_times: bool  # time mode "L"; "U": times and dates are UTC
    validity_from: date
    validity_to: date
    legs: list[LegRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SsimFile:
    carriers: list[CarrierSchedule]
    records: int

    @property
    def legs(self) -> Iterator[LegRecord]:
        for carrier in self.carriers:
            yield from carrier.legs


# Reading -----------------------------------------------------------------------------


def parse_date(text: str) -> date:
    """A DDMMMYY date (01DEC26); years 00-99 are 2000-2099."""
    if len(text) != 7 or not text[:2].isdigit() or not text[5:].isdigit():
        raise ValueError(f"expected a date as DDMMMYY, got {text!r}")
    month = _MONTH_NUMBER.get(text[2:5])
    if month is None:
        raise ValueError(f"unknown month {text[2:5]!r} in {text!r}")
    return date(2000 + int(text[5:]), month, int(text[:2]))


def format_date(day: date) -> str:
    return f"{day.day:02d}{MONTHS[day.month - 1]}{day.year % 100:02d}"


def parse_offset(text: str) -> timedelta:
    """A UTC/local time variation, +HHMM or -HHMM."""
    if not _OFFSET.match(text):
        raise ValueError(f"expected a UTC variation as +HHMM or -HHMM, got {text!r}")
    minutes = int(text[1:3]) * 60 + int(text[3:5])
    return timedelta(minutes=-minutes if text[0] == "-" else minutes)


def format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _parse_time(text: str) -> time:
    # 2400 is allowed by SSIM for an arrival at midnight, as the end of the day.
    if text == "2400":
        return time(0, 0)
    if not _HHMM.match(text):
        raise ValueError(f"expected a time as HHMM, got {text!r}")
    return time(int(text[:2]), int(text[2:]))


class _Reader:
    """Collects every problem of a file instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, record_no: int, name: str, message: str, code: str = "invalid") -> None:
        self.errors.append(FieldError(f"records.{record_no}.{name}", f"record {record_no}: "
                                      f"{name}: {message}", code))  # fmt: skip

    def take(
        self, record: str, record_no: int, name: str, parse: Callable[[str], T],
        *, blank: T | None = None,
    ) -> T | None:  # fmt: skip
        raw = record[getattr(Fields, name)]
        if not raw.strip() and blank is not None:
            return blank
        try:
            return parse(raw)
        except ValueError as exc:
            self.fail(record_no, name, str(exc))
            return None


def _days(text: str) -> frozenset[int]:
    days = set()
    for position, char in enumerate(text, start=1):
        if char == " ":
            continue
        if char != str(position):
            raise ValueError(
                f"day {position} must be {position} or blank, got {char!r} (in {text!r})"
            )
        days.add(position)
    if not days:
        raise ValueError("no day of operation")
    return frozenset(days)


def _number(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(f"expected digits, got {text!r}")
    return int(text)


def _flight_number(text: str) -> int:
    number = _number(text)
    if not 1 <= number <= 9999:
        raise ValueError(f"must be 1 to 9999, got {number}")
    return number


def _station(text: str) -> str:
    if not _STATION.match(text):
        raise ValueError(f"expected an IATA airport code, got {text!r}")
    return text


def _aircraft(text: str) -> str:
    if not _AIRCRAFT.match(text):
        raise ValueError(f"expected an IATA aircraft type code, got {text!r}")
    return text


def _carrier(text: str) -> str:
    if not _CARRIER.match(text):
        raise ValueError(f"expected an airline designator, got {text!r}")
    return text.strip()


def _date_variation(text: str) -> int | None:
    if text not in _DATE_VARIATION:
        raise ValueError(f"expected 0-4, A (day before) or blank, got {text!r}")
    return _DATE_VARIATION[text]


def _terminal(text: str) -> str | None:
    return text.strip() or None


def _frequency(text: str) -> int:
    if text not in ("1", "2"):
        raise ValueError(f"expected 1 (weekly), 2 (fortnightly) or blank, got {text!r}")
    return int(text)


def _leg(reader: _Reader, record: str, no: int, carrier: CarrierSchedule) -> LegRecord | None:
    take = reader.take
    errors_before = len(reader.errors)
    airline = take(record, no, "airline", _carrier)
    if airline is not None and airline != carrier.carrier:
        reader.fail(no, "airline", f"{airline!r} differs from the carrier record's "
                    f"{carrier.carrier!r} (record {carrier.record_no})")  # fmt: skip
    # Every field is read before any is judged, so that one pass reports them all.
    flight_number = take(record, no, "flight_number", _flight_number)
    itinerary_variation = take(record, no, "itinerary_variation", _number)
    leg_sequence = take(record, no, "leg_sequence", _number)
    period_from = take(record, no, "period_from", parse_date)
    # "00XXX00": until further notice, which is as far as the carrier's data reaches.
    period_to = (
        carrier.validity_to
        if record[Fields.period_to] == OPEN_ENDED
        else take(record, no, "period_to", parse_date)
    )
    days = take(record, no, "days_of_operation", _days)
    frequency_rate = take(record, no, "frequency_rate", _frequency, blank=1)
    origin = take(record, no, "departure_station", _station)
    departure = take(record, no, "passenger_std", _parse_time)
    departure_utc_offset = take(record, no, "departure_utc_variation", parse_offset)
    destination = take(record, no, "arrival_station", _station)
    arrival = take(record, no, "passenger_sta", _parse_time)
    arrival_utc_offset = take(record, no, "arrival_utc_variation", parse_offset)
    aircraft_type = take(record, no, "aircraft_type", _aircraft)
    # A blank date variation is a valid None, so these two are not among the checks below.
    departure_day = take(record, no, "departure_date_variation", _date_variation)
    arrival_day = take(record, no, "arrival_date_variation", _date_variation)
    # A None below is a field whose error was recorded; the checks narrow the types.
    if (
        len(reader.errors) > errors_before
        or flight_number is None
        or itinerary_variation is None
        or leg_sequence is None
        or period_from is None
        or period_to is None
        or days is None
        or frequency_rate is None
        or origin is None
        or departure is None
        or departure_utc_offset is None
        or destination is None
        or arrival is None
        or arrival_utc_offset is None
        or aircraft_type is None
    ):
        return None
    if period_to < period_from:
        reader.fail(no, "period_to", "ends before the period begins")
        return None
    if origin == destination:
        reader.fail(no, "arrival_station", "is the departure station")
        return None
    return LegRecord(
        record_no=no,
        carrier=carrier.carrier,
        flight_number=flight_number,
        operational_suffix=record[Fields.operational_suffix].strip(),
        itinerary_variation=itinerary_variation,
        leg_sequence=leg_sequence,
        service_type=record[Fields.service_type].strip(),
        period_from=period_from,
        period_to=period_to,
        days=days,
        frequency_rate=frequency_rate,
        origin=origin,
        departure=departure,
        departure_utc_offset=departure_utc_offset,
        departure_terminal=_terminal(record[Fields.departure_terminal]),
        destination=destination,
        arrival=arrival,
        arrival_utc_offset=arrival_utc_offset,
        arrival_terminal=_terminal(record[Fields.arrival_terminal]),
        aircraft_type=aircraft_type,
        departure_day=departure_day or 0,
        arrival_day=arrival_day,
    )


def _carrier_record(reader: _Reader, record: str, no: int) -> CarrierSchedule | None:
    errors_before = len(reader.errors)
    mode = record[Fields.time_mode]
    if mode not in ("L", "U"):
        reader.fail(no, "time_mode", f"expected L (local) or U (UTC), got {mode!r}")
    airline = reader.take(record, no, "airline", _carrier)
    start = reader.take(record, no, "validity_from", parse_date)
    end = reader.take(record, no, "validity_to", parse_date)
    # A None is a field whose error was recorded; the checks narrow the types.
    if len(reader.errors) > errors_before or airline is None or start is None or end is None:
        return None
    if end < start:
        reader.fail(no, "validity_to", "ends before the period of validity begins")
        return None
    return CarrierSchedule(no, airline, mode == "L", start, end)


def read_records(lines: Iterable[str]) -> SsimFile:
    """Parse SSIM records; raises ``SsimError`` listing every problem found.

    ``lines`` are the records, with or without their line ends (SSIM files on
    disk usually put each 200-byte record on its own line).
    """
    reader = _Reader()
    carriers: list[CarrierSchedule] = []
    current: CarrierSchedule | None = None
    seen_header = seen_trailer = False
    count = 0
    for count, raw in enumerate(lines, start=1):
        record = raw.rstrip("\r\n")
        if len(record) != RECORD_LENGTH:
            reader.fail(count, "record", f"is {len(record)} characters long, not "
                        f"{RECORD_LENGTH}", "length")  # fmt: skip
            continue
        kind = record[0]
        if kind == "0":
            continue
        if kind == "1":
            if not record[Fields.title].startswith(HEADER_TITLE):
                reader.fail(count, "title", f"expected {HEADER_TITLE!r}")
            seen_header = True
            continue
        if not seen_header:
            reader.fail(count, "record_type", "the file must begin with a header (type 1)")
            seen_header = True
        if kind == "2":
            current = _carrier_record(reader, record, count)
            if current is not None:
                carriers.append(current)
            seen_trailer = False
        elif kind == "3":
            if current is None:
                reader.fail(count, "record_type", "a flight leg (type 3) needs a carrier "
                            "record (type 2) before it")  # fmt: skip
                continue
            leg = _leg(reader, record, count, current)
            if leg is not None:
                current.legs.append(leg)
        elif kind == "4":
            continue  # segment data (traffic restrictions, meals...): not kept
        elif kind == "5":
            seen_trailer = True
            current = None
        else:
            reader.fail(count, "record_type", f"unknown record type {kind!r}")
    if count == 0:
        reader.fail(1, "record", "the file is empty", "empty")
    elif not seen_trailer:
        reader.fail(count, "record_type", "the file must end with a trailer (type 5)")
    if reader.errors:
        raise SsimError(reader.errors)
    return SsimFile(carriers, count)


# Writing -----------------------------------------------------------------------------


def _record(kind: str, serial: int, fields: list[tuple[slice, str]]) -> str:
    chars = [" "] * RECORD_LENGTH
    chars[0] = kind
    for where, value in fields:
        width = where.stop - where.start
        if len(value) > width:
            raise ValueError(f"{value!r} does not fit in {width} characters")
        chars[where.start : where.start + len(value)] = value
    chars[Fields.serial] = f"{serial % 1_000_000:06d}"
    return "".join(chars)


def header_record(serial: int = 1) -> str:
    return _record("1", serial, [
        (Fields.title, HEADER_TITLE),
        (Fields.seasons, "1"),
        (Fields.data_set_serial, "001"),
    ])  # fmt: skip


def carrier_record(
    serial: int, carrier: str, validity_from: date, validity_to: date, created: date
) -> str:
    return _record("2", serial, [
        (Fields.time_mode, "L"),
        (Fields.airline, carrier.ljust(3)),
        (Fields.validity_from, format_date(validity_from)),
        (Fields.validity_to, format_date(validity_to)),
        (Fields.creation_date, format_date(created)),
        (Fields.title_of_data, "SKYBOUND SCHEDULE EXPORT"),
        (Fields.schedule_status, "C"),
    ])  # fmt: skip


def _hhmm(value: time) -> str:
    return f"{value.hour:02d}{value.minute:02d}"


def leg_record(serial: int, leg: LegRecord) -> str:
    """A type 3 record (local time mode)."""
    days = "".join(str(d) if d in leg.days else " " for d in range(1, 8))
    arrival_day = "" if leg.arrival_day is None else _VARIATION_CODE[leg.arrival_day]
    return _record("3", serial, [
        (Fields.operational_suffix, leg.operational_suffix),
        (Fields.airline, leg.carrier.ljust(3)),
        (Fields.flight_number, f"{leg.flight_number:04d}"),
        (Fields.itinerary_variation, f"{leg.itinerary_variation:02d}"),
        (Fields.leg_sequence, f"{leg.leg_sequence:02d}"),
        (Fields.service_type, leg.service_type or "J"),
        (Fields.period_from, format_date(leg.period_from)),
        (Fields.period_to, format_date(leg.period_to)),
        (Fields.days_of_operation, days),
        (Fields.frequency_rate, "2" if leg.frequency_rate == 2 else " "),
        (Fields.departure_station, leg.origin),
        (Fields.passenger_std, _hhmm(leg.departure)),
        (Fields.aircraft_std, _hhmm(leg.departure)),
        (Fields.departure_utc_variation, format_offset(leg.departure_utc_offset)),
        (Fields.departure_terminal, (leg.departure_terminal or "")[:2]),
        (Fields.arrival_station, leg.destination),
        (Fields.aircraft_sta, _hhmm(leg.arrival)),
        (Fields.passenger_sta, _hhmm(leg.arrival)),
        (Fields.arrival_utc_variation, format_offset(leg.arrival_utc_offset)),
        (Fields.arrival_terminal, (leg.arrival_terminal or "")[:2]),
        (Fields.aircraft_type, leg.aircraft_type),
        (Fields.departure_date_variation, _VARIATION_CODE[leg.departure_day]),
        (Fields.arrival_date_variation, arrival_day),
    ])  # fmt: skip


def trailer_record(serial: int, carrier: str, release: date) -> str:
    return _record("5", serial, [
        (Fields.airline, carrier.ljust(3)),
        (Fields.release_date, format_date(release)),
        (Fields.serial_check, f"{(serial - 1) % 1_000_000:06d}"),
        (Fields.continuation, "E"),
    ])  # fmt: skip
