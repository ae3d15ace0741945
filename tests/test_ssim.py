"""SSIM Chapter 7: exact record layout, parsing errors by record and field, and expansion
of periods into legs by local date with UTC times from the record's variations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from domain.schedules.expand import LEG_COLUMNS, Expansion, LegRow, ScheduleReference
from domain.schedules.periods import periods
from domain.schedules.ssim import (
    LegRecord,
    SsimError,
    carrier_record,
    header_record,
    leg_record,
    read_records,
    trailer_record,
)

COL = {name: i for i, name in enumerate(LEG_COLUMNS)}

REFERENCE = ScheduleReference(
    carriers=frozenset({"SB"}),
    airport_zones={"JFK": "America/New_York", "LHR": "Europe/London", "ORD": "America/Chicago"},
    aircraft_types=frozenset({"77W", "738"}),
)

# SB1 JFK 19:00 (UTC-5) to LHR 07:00 next day (UTC+0), daily in the first week of December.
OVERNIGHT = LegRecord(
    record_no=0,
    carrier="SB",
    flight_number=1,
    operational_suffix="",
    itinerary_variation=1,
    leg_sequence=1,
    service_type="J",
    period_from=date(2026, 12, 1),
    period_to=date(2026, 12, 7),
    days=frozenset(range(1, 8)),
    frequency_rate=1,
    origin="JFK",
    departure=time(19, 0),
    departure_utc_offset=timedelta(hours=-5),
    departure_terminal="4",
    destination="LHR",
    arrival=time(7, 0),
    arrival_utc_offset=timedelta(0),
    arrival_terminal="5",
    aircraft_type="77W",
    departure_day=0,
    arrival_day=1,
)


def ssim_file(*legs: LegRecord, carrier: str = "SB") -> list[str]:
    lines = [header_record(1), carrier_record(2, carrier, date(2026, 12, 1), date(2026, 12, 31),
                                              date(2026, 11, 1))]  # fmt: skip
    lines += [leg_record(3 + i, leg) for i, leg in enumerate(legs)]
    lines.append(trailer_record(len(lines) + 1, carrier, date(2026, 11, 1)))
    return lines


def expand(lines: list[str]) -> tuple[Expansion, list[LegRow]]:
    expansion = Expansion(read_records(lines), REFERENCE)
    assert expansion.check() == []
    return expansion, list(expansion.rows())


def test_a_leg_record_puts_each_field_at_its_ssim_position() -> None:
    record = leg_record(3, OVERNIGHT)
    assert len(record) == 200
    # SSIM positions are 1-based and inclusive: (first, last) -> text.
    at = {(first, last): record[first - 1 : last] for first, last in (
        (1, 1), (3, 5), (6, 9), (10, 11), (12, 13), (15, 28), (29, 35), (37, 39), (40, 43),
        (48, 52), (53, 54), (55, 57), (62, 65), (66, 70), (71, 72), (73, 75), (193, 194),
        (195, 200),
    )}  # fmt: skip
    assert at == {
        (1, 1): "3", (3, 5): "SB ", (6, 9): "0001", (10, 11): "01", (12, 13): "01",
        (15, 28): "01DEC2607DEC26", (29, 35): "1234567", (37, 39): "JFK", (40, 43): "1900",
        (48, 52): "-0500", (53, 54): "4 ", (55, 57): "LHR", (62, 65): "0700",
        (66, 70): "+0000", (71, 72): "5 ", (73, 75): "77W", (193, 194): "01",
        (195, 200): "000003",
    }  # fmt: skip


def test_header_carrier_and_trailer_records_are_200_bytes_with_their_serials() -> None:
    lines = ssim_file(OVERNIGHT)
    assert [len(line) for line in lines] == [200] * 4
    assert lines[0][:35] == "1AIRLINE STANDARD SCHEDULE DATA SET"
    assert lines[1][:5] + lines[1][14:28] == "2LSB 01DEC2631DEC26"
    assert lines[-1][0] + lines[-1][187:194] == "5000003E"
    assert [line[194:] for line in lines] == ["000001", "000002", "000003", "000004"]


def test_written_records_read_back_as_the_same_legs() -> None:
    parsed = read_records(ssim_file(OVERNIGHT))
    (leg,) = list(parsed.legs)
    assert leg == replace(OVERNIGHT, record_no=3)
    assert parsed.records == 4


def test_an_overnight_leg_arrives_the_next_day_in_utc_from_the_stated_variations() -> None:
    _, rows = expand(ssim_file(OVERNIGHT))
    assert len(rows) == 7
    first = rows[0]
    assert first[COL["service_date"]] == date(2026, 12, 1)
    assert first[COL["scheduled_departure"]] == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    assert first[COL["scheduled_arrival"]] == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    assert first[COL["record_no"]] == 3
    assert [r[COL["service_date"]] for r in rows] == [date(2026, 12, d) for d in range(1, 8)]


def test_a_missing_arrival_date_variation_is_taken_as_the_first_arrival_after_departure() -> None:
    _, rows = expand(ssim_file(replace(OVERNIGHT, arrival_day=None)))
    assert rows[0][COL["scheduled_arrival"]] == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


def test_days_of_operation_and_a_fortnightly_rate_select_the_dates() -> None:
    leg = replace(OVERNIGHT, period_to=date(2026, 12, 31), days=frozenset({2, 5}), frequency_rate=2)
    _, rows = expand(ssim_file(leg))
    # Tuesdays and Fridays of the 1st, 3rd and 5th weeks from 1 December (a Tuesday).
    assert [r[COL["service_date"]].day for r in rows] == [1, 4, 15, 18, 29]


def test_a_departure_date_variation_dates_the_leg_by_its_own_local_departure() -> None:
    leg = replace(OVERNIGHT, departure_day=1, arrival_day=2, period_to=date(2026, 12, 1))
    _, (row,) = expand(ssim_file(leg))
    assert row[COL["service_date"]] == date(2026, 12, 2)
    assert row[COL["scheduled_departure"]] == datetime(2026, 12, 3, 0, 0, tzinfo=UTC)


def test_a_variation_the_airport_time_zone_contradicts_is_reported_per_record() -> None:
    # New York is on UTC-5 in December; the record claims summer time.
    leg = replace(OVERNIGHT, departure_utc_offset=timedelta(hours=-4))
    expansion, rows = expand(ssim_file(leg))
    # The record's own variation is what the times are computed from.
    assert rows[0][COL["scheduled_departure"]] == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    (mismatch,) = [m.as_dict() for m in expansion.mismatches.values()]
    assert mismatch == {
        "record": 3, "station": "JFK", "stated": "-0400", "time_zone": "America/New_York",
        "zone_offset": "-0500", "legs": 7, "first_date": "2026-12-01",
    }  # fmt: skip


def test_unknown_aircraft_types_airports_and_carriers_are_errors_naming_the_record() -> None:
    leg = replace(OVERNIGHT, carrier="QQ", aircraft_type="XYZ", destination="ZZZ")
    expansion = Expansion(read_records(ssim_file(leg, carrier="QQ")), REFERENCE)
    assert {(e.field, e.code) for e in expansion.check()} == {
        ("records.2.airline", "unknown_carrier"),
        ("records.3.arrival_station", "unknown_airport"),
        ("records.3.aircraft_type", "unknown_aircraft_type"),
    }


def test_an_arrival_before_departure_is_an_error_of_the_arrival_date_variation() -> None:
    leg = replace(OVERNIGHT, arrival_day=0)
    expansion = Expansion(read_records(ssim_file(leg)), REFERENCE)
    assert list(expansion.rows()) == []
    (error,) = expansion.errors
    assert error.field == "records.3.arrival_date_variation"
    assert "before it departs" in error.message


def test_malformed_fields_are_all_reported_with_record_number_and_field_name() -> None:
    lines = ssim_file(OVERNIGHT, OVERNIGHT)
    lines[2] = lines[2][:36] + "J1K" + "2561" + lines[2][43:]
    lines[3] = lines[3][:14] + "31FOO26" + lines[3][21:]
    with pytest.raises(SsimError) as caught:
        read_records(lines)
    fields = [e.field for e in caught.value.errors]
    assert fields == [
        "records.3.departure_station",
        "records.3.passenger_std",
        "records.4.period_from",
    ]
    assert caught.value.errors[2].message.startswith("record 4: period_from: unknown month 'FOO'")


def test_structure_errors_name_the_record() -> None:
    lines = ssim_file(OVERNIGHT)
    with pytest.raises(SsimError) as short:
        read_records([*lines[:2], lines[2][:150], *lines[3:]])
    assert [(e.field, e.code) for e in short.value.errors] == [("records.3.record", "length")]
    with pytest.raises(SsimError) as no_trailer:
        read_records(lines[:-1])
    assert no_trailer.value.errors[0].field == "records.3.record_type"
    with pytest.raises(SsimError) as orphan:
        read_records([lines[0], lines[2], lines[3]])
    assert orphan.value.errors[0].field == "records.2.record_type"


def test_periods_cover_exactly_the_dates_they_were_made_from() -> None:
    start = date(2026, 3, 2)
    days = [start + timedelta(days=i) for i in range(60) if (start + timedelta(days=i)).isoweekday()
            in (1, 3, 5) and i != 16]  # fmt: skip
    found = list(periods(days))
    expanded = [
        p.start + timedelta(days=i)
        for p in found
        for i in range((p.end - p.start).days + 1)
        if (p.start + timedelta(days=i)).isoweekday() in p.days
    ]
    assert sorted(expanded) == days
    assert found[0].days == frozenset({1, 3, 5})
    assert len(found) <= 3


def test_an_arrival_in_the_repeated_hour_matches_either_offset_of_the_zone() -> None:
    # London's clocks go back at 02:00 BST on 25 October 2026: 01:30 happens twice,
    # first at +0100, then at +0000. The record states the second.
    day = date(2026, 10, 24)
    leg = replace(OVERNIGHT, period_from=day, period_to=day, days=frozenset({day.isoweekday()}),
                  departure=time(20, 30), departure_utc_offset=timedelta(hours=-4),
                  arrival=time(1, 30), arrival_utc_offset=timedelta(0), arrival_day=1)  # fmt: skip
    expansion, (row,) = expand(ssim_file(leg))
    assert row[COL["scheduled_arrival"]] == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert expansion.mismatches == {}


def test_utc_time_mode_reads_times_and_dates_as_utc() -> None:
    lines = ssim_file(replace(OVERNIGHT, departure=time(0, 0), arrival=time(7, 0),
                              period_to=date(2026, 12, 2), arrival_day=0))  # fmt: skip
    lines[1] = lines[1][:1] + "U" + lines[1][2:]
    _, rows = expand(lines)
    # 00:00 UTC on 1 December is 19:00 on 30 November in New York: the leg's local date.
    assert [(r[COL["service_date"]], r[COL["scheduled_departure"]]) for r in rows] == [
        (date(2026, 11, 30), datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),
        (date(2026, 12, 1), datetime(2026, 12, 2, 0, 0, tzinfo=UTC)),
    ]
    assert rows[0][COL["scheduled_arrival"]] == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def test_an_open_ended_period_runs_to_the_end_of_the_carriers_validity() -> None:
    lines = ssim_file(OVERNIGHT)
    lines[2] = lines[2][:21] + "00XXX00" + lines[2][28:]
    _, rows = expand(lines)
    assert rows[-1][COL["service_date"]] == date(2026, 12, 31)
    assert len(rows) == 31
