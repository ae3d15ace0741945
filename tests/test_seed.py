"""Seed data: real airports, a deterministic schedule, and a bulk load that keeps the schema."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from devtools.seed import AlreadySeeded, Schedule, load_reference_data, seed_database
from devtools.seed.reference import (
    AIRCRAFT_TYPES,
    AIRLINES,
    CABINS,
    HUB_AIRPORTS,
    aircraft_by_code,
    airports,
    airports_by_iata,
    fare_brands,
)
from devtools.seed.schedule import (
    CABIN_COLUMNS,
    FLIGHT_COLUMNS,
    TAXI_MINUTES,
    block_minutes,
    great_circle_km,
)
from foundation.database import connect

# What tests/conftest.py seeds into the seeded template.
SEEDED = {"flights": 3000, "days": 7, "seed": 42, "start_date": date(2026, 12, 1)}

F = {name: i for i, name in enumerate(FLIGHT_COLUMNS)}
C = {name: i for i, name in enumerate(CABIN_COLUMNS)}


@pytest.fixture
async def seeded(seeded_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a fresh copy of the seeded template."""
    conn = await connect(seeded_database_url)
    try:
        yield conn
    finally:
        await conn.close()


def _local_departures(schedule: Schedule) -> dict[tuple[str, int], list[datetime]]:
    """Each pattern's departures in its origin's local time, by (carrier, flight number)."""
    zones = {a.iata: ZoneInfo(a.time_zone) for a in airports()}
    found: dict[tuple[str, int], list[datetime]] = defaultdict(list)
    for row in schedule.flight_rows():
        local = row[F["scheduled_departure"]].astimezone(zones[row[F["origin"]]])
        found[row[F["carrier"]], row[F["flight_number"]]].append(local)
    return found


# Reference data ---------------------------------------------------------------------


def test_airports_are_real_and_pass_the_schema_checks() -> None:
    by_iata = airports_by_iata()
    assert len(by_iata) > 5000
    assert by_iata["JFK"].icao == "KJFK"
    assert by_iata["LHR"].time_zone == "Europe/London"
    assert by_iata["LHR"].is_hub
    assert not by_iata["ERV"].is_hub
    assert by_iata.keys() >= HUB_AIRPORTS
    for a in by_iata.values():
        assert len(a.iata) == 3
        assert a.iata.isupper()
        assert a.icao is None or (len(a.icao) == 4 and a.icao.isalnum())
        ZoneInfo(a.time_zone)


def test_airlines_have_unique_codes_and_real_hubs() -> None:
    by_iata = airports_by_iata()
    for field in ("code", "icao", "ticket_prefix"):
        values = [getattr(a, field) for a in AIRLINES]
        assert len(set(values)) == len(values), field
    assert 12 <= len(AIRLINES) <= 16
    for airline in AIRLINES:
        assert airline.hubs
        assert all(h in by_iata for h in airline.hubs)
        assert all(code in aircraft_by_code() for code in airline.fleet)


def test_cabin_seats_are_rows_times_seat_letters() -> None:
    seats = {(t.code, c.cabin): c.seats for t in AIRCRAFT_TYPES for c in t.cabins}
    assert seats["738", "economy"] == 31 * 6
    assert seats["789", "business"] == 8 * 4
    assert seats["388", "first"] == 3 * 4
    assert {c.cabin for c in aircraft_by_code()["77W"].cabins} == set(CABINS)


def test_fare_brands_cover_every_cabin_a_carrier_flies() -> None:
    brands = fare_brands()
    codes = {b.code for b in brands}
    assert {"SB_ECO_LIGHT", "SB_ECO_STANDARD", "SB_ECO_FLEX", "SB_BUS_FLEX"} <= codes
    assert "ZP_BUS_STANDARD" not in codes  # a single-class low-cost fleet
    for airline in AIRLINES:
        flown = {c.cabin for t in airline.fleet for c in aircraft_by_code()[t].cabins}
        branded = {b.cabin for b in brands if b.carrier == airline.code}
        assert branded == flown, airline.code


async def test_reference_data_loads_idempotently(db: asyncpg.Connection) -> None:
    await load_reference_data(db)
    counts = [await db.fetchval(f"SELECT count(*) FROM {t}") for t in _REFERENCE_TABLES]
    await load_reference_data(db)
    assert [await db.fetchval(f"SELECT count(*) FROM {t}") for t in _REFERENCE_TABLES] == counts
    assert counts[0] == len(airports())
    assert counts[1] == len(AIRLINES)
    assert await db.fetchval("SELECT count(*) FROM airports WHERE is_hub") == len(HUB_AIRPORTS)
    hubs = await db.fetchval("SELECT hubs FROM airlines WHERE code = 'SB'")
    assert [h.strip() for h in hubs] == ["JFK", "ORD", "DFW"]


_REFERENCE_TABLES = ("airports", "airlines", "aircraft_types", "aircraft_cabins", "fare_brands")


# The generator ------------------------------------------------------------------------


def test_same_seed_gives_identical_rows() -> None:
    a = Schedule(flights=2000, days=5, seed=7, start_date=date(2026, 6, 1))
    b = Schedule(flights=2000, days=5, seed=7, start_date=date(2026, 6, 1))
    assert list(a.flight_rows()) == list(b.flight_rows())
    assert list(a.cabin_rows()) == list(b.cabin_rows())


def test_different_seed_gives_a_different_schedule() -> None:
    a = Schedule(flights=2000, days=5, seed=7, start_date=date(2026, 6, 1))
    b = Schedule(flights=2000, days=5, seed=8, start_date=date(2026, 6, 1))
    routes_a = {(p.carrier, p.origin, p.destination) for p in a.patterns}
    routes_b = {(p.carrier, p.origin, p.destination) for p in b.patterns}
    assert routes_a != routes_b
    assert list(a.cabin_rows()) != list(b.cabin_rows())


def test_rows_do_not_depend_on_chunking() -> None:
    schedule = Schedule(flights=1500, days=3, seed=1, start_date=date(2026, 6, 1))
    chunked = [
        (list(schedule.flight_rows(start, stop)), list(schedule.cabin_rows(start, stop)))
        for start, stop in schedule.chunks(333)
    ]
    assert [r for f, _ in chunked for r in f] == list(schedule.flight_rows())
    assert [r for _, c in chunked for r in c] == list(schedule.cabin_rows())


@pytest.mark.parametrize(("flights", "days"), [(1, 1), (999, 4), (2500, 5)])
def test_exactly_the_requested_legs_with_ids_from_one(flights: int, days: int) -> None:
    schedule = Schedule(flights=flights, days=days, seed=3, start_date=date(2026, 6, 1))
    ids = [row[F["id"]] for row in schedule.flight_rows()]
    assert ids == list(range(1, flights + 1))
    last_day = max(row[F["service_date"]] for row in schedule.flight_rows())
    assert last_day < date(2026, 6, 1) + timedelta(days=days)


def test_flight_numbers_identify_one_pattern_each() -> None:
    schedule = Schedule(flights=20_000, days=10, seed=5, start_date=date(2026, 6, 1))
    keys = [(p.carrier, p.flight_number) for p in schedule.patterns]
    assert len(keys) == len(set(keys))
    assert all(1 <= number <= 9999 for _, number in keys)
    # Every outbound (odd) has its return (even) in the opposite direction.
    by_key = {(p.carrier, p.flight_number): p for p in schedule.patterns}
    for (carrier, number), p in by_key.items():
        if number % 2:
            back = by_key[carrier, number + 1]
            assert (back.origin, back.destination) == (p.destination, p.origin)


def test_departures_are_at_daytime_local_hours() -> None:
    schedule = Schedule(flights=20_000, days=10, seed=5, start_date=date(2026, 6, 1))
    assert all(time(6) <= p.departure <= time(23) for p in schedule.patterns)
    for row in schedule.flight_rows(0, 5000):
        zone = ZoneInfo(airports_by_iata()[row[F["origin"]]].time_zone)
        assert row[F["scheduled_departure"]].astimezone(zone).date() == row[F["service_date"]]


def test_block_time_follows_distance_and_aircraft() -> None:
    schedule = Schedule(flights=20_000, days=10, seed=5, start_date=date(2026, 6, 1))
    by_iata, aircraft = airports_by_iata(), aircraft_by_code()
    for p in schedule.patterns:
        distance = great_circle_km(by_iata[p.origin], by_iata[p.destination])
        plane = aircraft[p.aircraft_type]
        minutes = p.block.total_seconds() / 60
        assert minutes == block_minutes(distance, plane.cruise_kmh)
        assert abs(minutes - (TAXI_MINUTES + distance / plane.cruise_kmh * 60)) <= 2.5
        assert plane.range_km >= distance
        if distance > 6000:
            assert plane.category == "widebody"
    for row in schedule.flight_rows(0, 3000):
        assert row[F["scheduled_arrival"]] > row[F["scheduled_departure"]]


def test_great_circle_distance_matches_known_routes() -> None:
    by_iata = airports_by_iata()
    assert great_circle_km(by_iata["JFK"], by_iata["LHR"]) == pytest.approx(5540, rel=0.01)
    assert great_circle_km(by_iata["SYD"], by_iata["MEL"]) == pytest.approx(705, rel=0.01)


def _assert_local_time_kept(schedule: Schedule, switch: date) -> int:
    """Every pattern departs at one local time on all days; return how many crossed ``switch``
    in a zone whose UTC offset changed there."""
    crossed = 0
    for key, legs in _local_departures(schedule).items():
        assert {d.time() for d in legs} == {legs[0].time()}, key
        before = [d for d in legs if d.date() < switch]
        after = [d for d in legs if d.date() > switch]
        if not before or not after:
            continue
        change = after[0].utcoffset() - before[0].utcoffset()  # type: ignore[operator]
        days = (after[0].date() - before[0].date()).days
        # Same wall-clock time, so the UTC instant moves against the offset change.
        assert after[0].astimezone(UTC) - before[0].astimezone(UTC) == timedelta(days) - change
        crossed += change != timedelta(0)
    return crossed


def test_departures_keep_local_time_across_the_european_spring_change() -> None:
    # Europe moves to summer time on Sunday 2026-03-29: UTC departures an hour earlier.
    schedule = Schedule(flights=4000, days=6, seed=11, start_date=date(2026, 3, 26))
    assert _assert_local_time_kept(schedule, date(2026, 3, 29)) > 20
    london = ZoneInfo("Europe/London")
    legs = _local_departures(schedule)
    from_lhr = [v for v in legs.values() if v[0].tzinfo == london and len(v) == 6]
    assert from_lhr
    assert from_lhr[0][0].astimezone(UTC).time() == from_lhr[0][0].time()  # GMT
    assert from_lhr[0][-1].astimezone(UTC).hour == (from_lhr[0][-1].hour - 1) % 24  # BST


def test_departures_keep_local_time_across_the_us_autumn_change() -> None:
    # The US returns to standard time on Sunday 2026-11-01: UTC departures an hour later.
    schedule = Schedule(flights=4000, days=6, seed=11, start_date=date(2026, 10, 29))
    assert _assert_local_time_kept(schedule, date(2026, 11, 1)) > 20


def test_cabin_rows_follow_the_aircraft_layout() -> None:
    schedule = Schedule(flights=3000, days=5, seed=2, start_date=date(2026, 6, 1))
    flights = {row[F["id"]]: row for row in schedule.flight_rows()}
    by_flight = defaultdict(list)
    for row in schedule.cabin_rows():
        by_flight[row[C["flight_id"]]].append(row)
        assert 0 <= row[C["seats_sold"]] <= row[C["capacity"]]
        assert row[C["base_fare_minor"]] > 0
        assert row[C["base_fare_minor"]] % 100 == 0
    assert by_flight.keys() == flights.keys()
    currency = {a.code: a.currency for a in AIRLINES}
    for flight_id, cabins in by_flight.items():
        flight = flights[flight_id]
        layout = {c.cabin: c.seats for c in aircraft_by_code()[flight[F["aircraft_type"]]].cabins}
        assert {c[C["cabin"]]: c[C["capacity"]] for c in cabins} == layout
        assert {c[C["currency"]] for c in cabins} == {currency[flight[F["carrier"]]]}
        fares = {c[C["cabin"]]: c[C["base_fare_minor"]] for c in cabins}
        if "business" in fares and "economy" in fares:
            assert fares["business"] > 2 * fares["economy"]


def test_too_many_legs_per_day_is_refused() -> None:
    with pytest.raises(ValueError, match="use more days"):
        Schedule(flights=3_000_000, days=1, seed=1, start_date=date(2026, 6, 1))


# The load ---------------------------------------------------------------------------------


async def test_seeded_rows_are_the_generated_rows(seeded: asyncpg.Connection) -> None:
    schedule = Schedule(**SEEDED)
    columns = ", ".join(FLIGHT_COLUMNS)
    stored = await seeded.fetch(f"SELECT {columns} FROM flights ORDER BY id")
    assert [tuple(r) for r in stored] == list(schedule.flight_rows())
    columns = ", ".join(CABIN_COLUMNS)
    stored = await seeded.fetch(
        f'SELECT {columns} FROM flight_cabins ORDER BY flight_id, cabin COLLATE "C"'
    )
    expected = sorted(schedule.cabin_rows(), key=lambda r: (r[0], r[1]))
    assert [tuple(r) for r in stored] == expected
    assert await seeded.fetchval("SELECT count(*) FROM change_events") == 0


async def test_stored_departures_keep_local_time_across_dst(db: asyncpg.Connection) -> None:
    await seed_database(db, flights=2000, days=6, seed=11, start_date=date(2026, 3, 26))
    rows = await db.fetch(
        """
        SELECT f.carrier, f.flight_number,
               min((f.scheduled_departure AT TIME ZONE a.time_zone)::time) AS first_local,
               max((f.scheduled_departure AT TIME ZONE a.time_zone)::time) AS last_local,
               min((f.scheduled_departure AT TIME ZONE 'UTC')::time)
                   FILTER (WHERE f.service_date < '2026-03-29') AS utc_before,
               min((f.scheduled_departure AT TIME ZONE 'UTC')::time)
                   FILTER (WHERE f.service_date > '2026-03-29') AS utc_after
        FROM flights f JOIN airports a ON a.iata = f.origin
        WHERE a.time_zone IN ('Europe/London', 'Europe/Amsterdam', 'Europe/Paris',
                              'Europe/Dublin', 'Europe/Madrid')
        GROUP BY f.carrier, f.flight_number
        HAVING count(*) FILTER (WHERE f.service_date < '2026-03-29') > 0
           AND count(*) FILTER (WHERE f.service_date > '2026-03-29') > 0
        """
    )
    assert len(rows) > 10
    for r in rows:
        assert r["first_local"] == r["last_local"]
        before = datetime.combine(date.min, r["utc_before"])
        after = datetime.combine(date.min, r["utc_after"])
        assert before - after == timedelta(hours=1)


async def test_cabins_match_the_aircraft_seat_counts(seeded: asyncpg.Connection) -> None:
    mismatched = await seeded.fetchval(
        """
        SELECT count(*) FROM flights f
        WHERE (SELECT array_agg(cabin || ':' || capacity ORDER BY cabin)
               FROM flight_cabins WHERE flight_id = f.id)
              IS DISTINCT FROM
              (SELECT array_agg(cabin || ':' || seats ORDER BY cabin)
               FROM aircraft_cabins WHERE aircraft_type = f.aircraft_type)
        """
    )
    assert mismatched == 0
    wrong_layout = await seeded.fetchval(
        "SELECT count(*) FROM aircraft_cabins"
        " WHERE seats <> (last_row - first_row + 1) * length(replace(seat_letters, ' ', ''))"
    )
    assert wrong_layout == 0


_SCHEMA_OF_SCHEDULE = """
SELECT 'constraint' AS kind, conrelid::regclass::text AS tab, conname::text AS name,
       pg_get_constraintdef(oid) AS definition
FROM pg_constraint WHERE conrelid IN ('flights'::regclass, 'flight_cabins'::regclass)
UNION ALL
SELECT 'index', tablename::text, indexname::text, indexdef FROM pg_indexes
WHERE tablename IN ('flights', 'flight_cabins')
UNION ALL
SELECT 'trigger', tgrelid::regclass::text, tgname::text, tgenabled::text FROM pg_trigger
WHERE tgrelid IN ('flights'::regclass, 'flight_cabins'::regclass) AND NOT tgisinternal
ORDER BY 1, 2, 3
"""


async def test_seed_leaves_constraints_and_indexes_as_migrated(
    db: asyncpg.Connection, seeded: asyncpg.Connection
) -> None:
    migrated = [tuple(r) for r in await db.fetch(_SCHEMA_OF_SCHEDULE)]
    after_seed = [tuple(r) for r in await seeded.fetch(_SCHEMA_OF_SCHEDULE)]
    assert after_seed == migrated
    names = {r[2] for r in migrated}
    assert names >= {
        "flights_origin_fkey",
        "flights_origin_departure_idx",
        "flights_active_departure_idx",
        "flights_carrier_flight_number_service_date_origin_key",
        "flight_cabins_flight_id_fkey",
    }
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await seeded.execute(
            "INSERT INTO flight_cabins (flight_id, cabin, capacity, base_fare_minor, currency)"
            " VALUES (999999, 'economy', 10, 100, 'USD')"
        )


async def test_new_flights_get_ids_after_the_seeded_ones(seeded: asyncpg.Connection) -> None:
    new_id = await seeded.fetchval(
        """
        INSERT INTO flights (carrier, flight_number, service_date, origin, destination,
                             scheduled_departure, scheduled_arrival)
        VALUES ('SB', 9999, '2027-01-01', 'JFK', 'LHR', '2027-01-01 20:00Z', '2027-01-02 03:00Z')
        RETURNING id
        """
    )
    assert new_id == SEEDED["flights"] + 1


async def test_seed_refuses_to_reseed_without_replace(seeded: asyncpg.Connection) -> None:
    with pytest.raises(AlreadySeeded, match="replace"):
        await seed_database(seeded, flights=100, days=1, seed=1)
    assert await seeded.fetchval("SELECT count(*) FROM flights") == SEEDED["flights"]

    report = await seed_database(
        seeded, flights=500, days=2, seed=1, start_date=date(2026, 6, 1), replace=True
    )
    assert report.flights == 500
    assert await seeded.fetchval("SELECT count(*) FROM flights") == 500
    assert await seeded.fetchval("SELECT count(*) FROM flight_cabins") == report.flight_cabins
    assert await seeded.fetchval("SELECT min(service_date) FROM flights") == date(2026, 6, 1)


async def test_seed_reports_what_it_loaded_and_its_progress(db: asyncpg.Connection) -> None:
    progress: list[int] = []
    report = await seed_database(
        db,
        flights=1200,
        days=3,
        seed=9,
        start_date=date(2026, 6, 1),
        on_progress=progress.append,
        chunk_legs=500,
    )
    assert progress == [500, 1000, 1200]
    schedule = Schedule(flights=1200, days=3, seed=9, start_date=date(2026, 6, 1))
    stored = await db.fetch(f"SELECT {', '.join(FLIGHT_COLUMNS)} FROM flights ORDER BY id")
    assert [tuple(r) for r in stored] == list(schedule.flight_rows())
    assert (report.flights, report.airlines) == (1200, len(AIRLINES))
    assert report.airports == len(airports())
    assert report.flight_cabins == await db.fetchval("SELECT count(*) FROM flight_cabins")
    assert report.legs_per_second == pytest.approx(1200 / report.seconds)
    with pytest.raises(AttributeError):
        report.flights = 1  # type: ignore[misc]


def test_schedule_rejects_nonsense_sizes() -> None:
    with pytest.raises(ValueError, match="flights"):
        Schedule(flights=0, days=1, seed=1)
    with pytest.raises(ValueError, match="days"):
        Schedule(flights=10, days=0, seed=1)


def test_default_start_is_today_in_utc() -> None:
    before = datetime.now(UTC).date()
    schedule = Schedule(flights=10, days=1, seed=1)
    assert schedule.start_date in {before, datetime.now(UTC).date()}
    first = next(itertools.islice(schedule.flight_rows(), 1))
    assert first[F["service_date"]] == schedule.start_date
