"""Schedule import: all or nothing, idempotent by natural key, changes through change
capture, missing legs cancelled only when asked, and an export that imports back."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest

from devtools.seed import load_reference_data
from domain.schedules import ScheduleRejected, export_ssim, import_schedule
from foundation.database import connect
from tests.test_ssim import OVERNIGHT, ssim_file

# SB2 LHR 09:00 to JFK 12:00 on Mondays, Wednesdays and Fridays of December.
RETURN = replace(
    OVERNIGHT,
    flight_number=2,
    origin="LHR",
    destination="JFK",
    departure=time(9, 0),
    departure_utc_offset=timedelta(0),
    arrival=time(12, 0),
    arrival_utc_offset=timedelta(hours=-5),
    period_to=date(2026, 12, 31),
    days=frozenset({1, 3, 5}),
    arrival_day=0,
)

LEGS = """
SELECT carrier, flight_number, service_date, origin, destination, aircraft_type,
       scheduled_departure, scheduled_arrival, status
  FROM flights ORDER BY carrier, flight_number, service_date, origin
"""


@pytest.fixture
async def reference_db(db: asyncpg.Connection) -> asyncpg.Connection:
    """This test's database with airports, airlines, aircraft and fare brands, no flights."""
    await load_reference_data(db)
    return db


async def _book(db: asyncpg.Connection, flight_id: int) -> uuid.UUID:
    """A confirmed booking of one economy seat on the flight, by a new user."""
    user = uuid.uuid4()
    await db.execute("INSERT INTO profiles (user_id) VALUES ($1)", user)
    booking = await db.fetchval(
        "INSERT INTO bookings (record_locator, user_id, total_minor, currency) "
        "VALUES ($1, $2, 10000, 'USD') RETURNING id",
        uuid.uuid4().hex[:6].upper(),
        user,
    )
    brand = await db.fetchval(
        "SELECT code FROM fare_brands WHERE carrier = 'SB' AND cabin = 'economy' LIMIT 1"
    )
    await db.execute(
        "INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin, "
        "fare_brand) VALUES ($1, 1, 1, $2, 'economy', $3)",
        booking,
        flight_id,
        brand,
    )
    await db.execute(
        "UPDATE flight_cabins SET seats_sold = seats_sold + 1 "
        "WHERE flight_id = $1 AND cabin = 'economy'",
        flight_id,
    )
    return user


async def _flight_id(db: asyncpg.Connection, number: int, day: date) -> int:
    return await db.fetchval(
        "SELECT id FROM flights WHERE carrier = 'SB' AND flight_number = $1 AND service_date = $2",
        number,
        day,
    )


async def test_a_schedule_becomes_legs_with_cabins_from_the_aircraft_layout(
    reference_db: asyncpg.Connection,
) -> None:
    report = await import_schedule(reference_db, ssim_file(OVERNIGHT, RETURN))
    assert (report.legs, report.inserted, report.updated, report.bulk_load) == (20, 20, 0, True)
    legs = await reference_db.fetch(LEGS)
    assert len(legs) == 20
    first = legs[0]
    assert (first["flight_number"], first["service_date"], first["origin"]) == (
        1, date(2026, 12, 1), "JFK",
    )  # fmt: skip
    assert first["scheduled_departure"] == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    assert first["scheduled_arrival"] == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    cabins = await reference_db.fetch(
        "SELECT fc.cabin, fc.capacity, fc.seats_sold, fc.base_fare_minor > 0 AS priced, "
        "fc.currency, ac.seats FROM flight_cabins fc JOIN flights f ON f.id = fc.flight_id "
        "JOIN aircraft_cabins ac ON ac.aircraft_type = f.aircraft_type AND ac.cabin = fc.cabin "
        "WHERE f.id = $1 ORDER BY fc.cabin",
        await _flight_id(reference_db, 1, date(2026, 12, 1)),
    )
    assert [c["cabin"] for c in cabins] == ["business", "economy", "first", "premium_economy"]
    assert all(c["capacity"] == c["seats"] and c["seats_sold"] == 0 and c["priced"]
               and c["currency"] == "USD" for c in cabins)  # fmt: skip
    # The unique key and indexes the bulk path dropped are back.
    with pytest.raises(asyncpg.UniqueViolationError):
        await reference_db.execute(
            "INSERT INTO flights (carrier, flight_number, service_date, origin, destination, "
            "scheduled_departure, scheduled_arrival) SELECT carrier, flight_number, "
            "service_date, origin, destination, scheduled_departure, scheduled_arrival "
            "FROM flights LIMIT 1"
        )


async def test_importing_the_same_file_again_changes_nothing(
    reference_db: asyncpg.Connection,
) -> None:
    lines = ssim_file(OVERNIGHT, RETURN)
    await import_schedule(reference_db, lines)
    before = await reference_db.fetch("SELECT *, xmin::text FROM flights ORDER BY id")
    events = await reference_db.fetchval("SELECT count(*) FROM change_events")
    report = await import_schedule(reference_db, lines)
    assert (report.inserted, report.updated, report.unchanged, report.missing) == (0, 0, 20, 0)
    assert report.bulk_load is False
    assert await reference_db.fetch("SELECT *, xmin::text FROM flights ORDER BY id") == before
    assert await reference_db.fetchval("SELECT count(*) FROM change_events") == events


async def test_a_retimed_leg_is_updated_in_place_and_its_passengers_hear_of_it(
    reference_db: asyncpg.Connection,
) -> None:
    await import_schedule(reference_db, ssim_file(OVERNIGHT, RETURN))
    flight = await _flight_id(reference_db, 1, date(2026, 12, 3))
    user = await _book(reference_db, flight)
    later = replace(OVERNIGHT, departure=time(20, 30), arrival=time(8, 30))
    report = await import_schedule(reference_db, ssim_file(later, RETURN))
    assert (report.inserted, report.updated, report.unchanged) == (0, 7, 13)
    assert await _flight_id(reference_db, 1, date(2026, 12, 3)) == flight
    row = await reference_db.fetchrow(
        "SELECT scheduled_departure, version FROM flights WHERE id = $1", flight
    )
    assert row["scheduled_departure"] == datetime(2026, 12, 4, 1, 30, tzinfo=UTC)
    assert row["version"] == 2
    event = await reference_db.fetchrow(
        "SELECT event_type, topics, payload FROM change_events WHERE entity_id = $1",
        str(flight),
    )
    assert event["event_type"] == "flight.updated"
    assert f"user:{user}" in event["topics"]
    assert set(event["payload"]["changes"]) == {"scheduled_departure", "scheduled_arrival"}
    notice = await reference_db.fetchrow(
        "SELECT user_id, kind, title, body FROM notifications WHERE flight_id = $1", flight
    )
    assert dict(notice) == {
        "user_id": user,
        "kind": "flight.updated",
        "title": "New schedule for SB1",
        "body": "SB1 from JFK to LHR now departs 2026-12-03 20:30 and arrives 2026-12-04 08:30 "
        "local time.",
    }


async def test_a_new_aircraft_resizes_the_cabins_and_keeps_sold_seats(
    reference_db: asyncpg.Connection,
) -> None:
    await import_schedule(reference_db, ssim_file(OVERNIGHT))
    flight = await _flight_id(reference_db, 1, date(2026, 12, 2))
    await _book(reference_db, flight)
    await import_schedule(reference_db, ssim_file(replace(OVERNIGHT, aircraft_type="738")))
    cabins = await reference_db.fetch(
        "SELECT cabin, capacity, seats_sold FROM flight_cabins WHERE flight_id = $1", flight
    )
    assert [(c["cabin"], c["capacity"], c["seats_sold"]) for c in cabins] == [("economy", 186, 1)]


async def test_a_smaller_aircraft_than_the_seats_sold_rejects_the_whole_file(
    reference_db: asyncpg.Connection,
) -> None:
    await import_schedule(reference_db, ssim_file(OVERNIGHT))
    flight = await _flight_id(reference_db, 1, date(2026, 12, 2))
    await reference_db.execute(
        "UPDATE flight_cabins SET seats_sold = 5 WHERE flight_id = $1 AND cabin = 'first'", flight
    )
    smaller = replace(OVERNIGHT, aircraft_type="738")
    with pytest.raises(ScheduleRejected) as caught:
        await import_schedule(reference_db, ssim_file(smaller, RETURN))
    (error,) = caught.value.errors
    assert error.field == "records.3.aircraft_type"
    assert "0 first seats but 5 are sold on 2026-12-02" in error.message
    # Nothing of the file was applied: SB2 was not added either.
    assert await reference_db.fetchval("SELECT count(*) FROM flights") == 7


async def test_missing_legs_are_reported_and_cancelled_only_when_asked(
    reference_db: asyncpg.Connection,
) -> None:
    await import_schedule(reference_db, ssim_file(OVERNIGHT, RETURN))
    booked = await _flight_id(reference_db, 2, date(2026, 12, 4))
    await _book(reference_db, booked)
    report = await import_schedule(reference_db, ssim_file(OVERNIGHT))
    assert (report.missing, report.missing_with_bookings, report.cancelled) == (13, 1, 0)
    assert report.missing_sample[0]["flight_number"] == 2
    assert (
        await reference_db.fetchval("SELECT count(*) FROM flights WHERE status = 'cancelled'") == 0
    )

    report = await import_schedule(reference_db, ssim_file(OVERNIGHT), cancel_missing=True)
    assert report.cancelled == 13
    # Cancelled, never deleted: the booked leg is still there for its booking.
    assert await reference_db.fetchval("SELECT status FROM flights WHERE id = $1", booked) == (
        "cancelled"
    )
    assert await reference_db.fetchval("SELECT count(*) FROM flights") == 20
    kinds = await reference_db.fetchval(
        "SELECT count(*) FROM notifications WHERE flight_id = $1 AND kind = 'flight.cancelled'",
        booked,
    )
    assert kinds == 1


async def test_a_dry_run_reports_everything_and_applies_nothing(
    reference_db: asyncpg.Connection,
) -> None:
    report = await import_schedule(reference_db, ssim_file(OVERNIGHT, RETURN), dry_run=True)
    assert (report.dry_run, report.legs, report.inserted) == (True, 20, 20)
    assert await reference_db.fetchval("SELECT count(*) FROM flights") == 0


async def test_a_bad_file_names_records_and_fields_and_applies_nothing(
    reference_db: asyncpg.Connection,
) -> None:
    unknown = replace(RETURN, destination="ZZZ", aircraft_type="XYZ")
    with pytest.raises(ScheduleRejected) as caught:
        await import_schedule(reference_db, ssim_file(OVERNIGHT, unknown))
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("records.4.arrival_station", "unknown_airport"),
        ("records.4.aircraft_type", "unknown_aircraft_type"),
    ]
    twice = replace(OVERNIGHT, period_from=date(2026, 12, 7), period_to=date(2026, 12, 9))
    with pytest.raises(ScheduleRejected) as duplicated:
        await import_schedule(reference_db, ssim_file(OVERNIGHT, twice))
    (error,) = duplicated.value.errors
    assert error.code == "duplicate_leg"
    assert error.message.startswith(
        "records 3, 4: flight SB1 from JFK operates twice on 2026-12-07"
    )
    assert await reference_db.fetchval("SELECT count(*) FROM flights") == 0


async def test_an_export_imports_into_an_empty_database_as_the_same_legs(
    seeded_database_url: str, reference_db: asyncpg.Connection
) -> None:
    seeded = await connect(seeded_database_url)
    try:
        text = "".join([chunk async for chunk in export_ssim(seeded, today=date(2026, 11, 1))])
        original = await seeded.fetch(LEGS)
    finally:
        await seeded.close()
    lines = text.splitlines()
    assert len(lines) < len(original)  # periods, not one record per leg
    report = await import_schedule(reference_db, lines)
    assert report.offset_mismatches == []
    assert report.legs == len(original) == 3000
    assert await reference_db.fetch(LEGS) == original
    # And the export of the import is the same file.
    again = "".join([c async for c in export_ssim(reference_db, today=date(2026, 11, 1))])
    assert again == text
