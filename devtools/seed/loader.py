"""Writes reference data and a generated schedule into the database.

The schedule goes in with binary COPY inside one transaction, with the indexes
and constraints of ``flights`` and ``flight_cabins`` rebuilt once after the
load (``foundation.bulk_load``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import asyncpg

from devtools.seed.codeshares import load_codeshares
from devtools.seed.reference import AIRCRAFT_TYPES, AIRLINES, airports, fare_brands
from devtools.seed.schedule import CABIN_COLUMNS, FLIGHT_COLUMNS, Schedule
from devtools.seed.taxes import TAX_RULES, carrier_surcharges
from foundation.bulk_load import restore_indexes, suspend_indexes

# Legs per pair of COPY statements: progress granularity; memory stays bounded
# because rows are generated lazily while asyncpg streams them.
CHUNK_LEGS = 100_000

SCHEDULE_TABLES = ("flights", "flight_cabins")


class SeedError(RuntimeError):
    """The database cannot be seeded as asked."""


class AlreadySeeded(SeedError):
    """Flights exist and ``replace`` was not given."""


@dataclass(frozen=True, slots=True)
class SeedReport:
    flights: int
    flight_cabins: int
    airports: int
    airlines: int
    seconds: float

    @property
    def legs_per_second(self) -> float:
        return self.flights / self.seconds if self.seconds > 0 else 0.0


# Reference data -------------------------------------------------------------------

_INSERT_AIRPORTS = """
INSERT INTO airports (iata, icao, name, city, subdivision, country, time_zone,
                      latitude, longitude, elevation_ft, is_hub)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::float8[], $9::float8[], $10::int[], $11::bool[])
ON CONFLICT DO NOTHING
"""

_INSERT_AIRLINE = """
INSERT INTO airlines (code, icao, name, country, ticket_prefix, currency, hubs)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING
"""

_INSERT_AIRCRAFT_TYPE = """
INSERT INTO aircraft_types (code, icao, name, range_km, cruise_kmh)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING
"""

_INSERT_AIRCRAFT_CABIN = """
INSERT INTO aircraft_cabins (aircraft_type, cabin, first_row, last_row, seat_letters,
                             exit_rows, extra_legroom_rows, seats)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING
"""

_INSERT_FARE_BRAND = """
INSERT INTO fare_brands (code, carrier, cabin, name, price_pct, child_pct, infant_pct,
                         refundable, changeable, change_fee_minor, cancellation_fee_minor,
                         checked_bags)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT DO NOTHING
"""


_INSERT_TAX_RULE = """
INSERT INTO tax_rules (code, name, kind, levied_on, country, airport, carrier, route, premium,
                       amount_minor, currency, percent_bp, children, infants, max_per_slice)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
"""


async def load_reference_data(conn: asyncpg.Connection) -> None:
    """Insert airports, airlines, aircraft types, fare brands and tax rules; rows already
    present stay (tax rules are loaded only into an empty table: they have no natural key)."""
    rows = airports()
    columns = list(zip(
        *(
            (a.iata, a.icao, a.name, a.city, a.subdivision, a.country, a.time_zone,
             a.latitude, a.longitude, a.elevation_ft, a.is_hub)
            for a in rows
        ),
        strict=True,
    ))  # fmt: skip
    async with conn.transaction():
        await conn.execute(_INSERT_AIRPORTS, *columns)
        await conn.executemany(
            _INSERT_AIRLINE,
            [
                (a.code, a.icao, a.name, a.country, a.ticket_prefix, a.currency, list(a.hubs))
                for a in AIRLINES
            ],
        )
        await conn.executemany(
            _INSERT_AIRCRAFT_TYPE,
            [(t.code, t.icao, t.name, t.range_km, t.cruise_kmh) for t in AIRCRAFT_TYPES],
        )
        await conn.executemany(
            _INSERT_AIRCRAFT_CABIN,
            [
                (t.code, c.cabin, c.first_row, c.last_row, c.seat_letters,
                 list(c.exit_rows), list(c.extra_legroom_rows), c.seats)
                for t in AIRCRAFT_TYPES
                for c in t.cabins
            ],
        )  # fmt: skip
        await conn.executemany(
            _INSERT_FARE_BRAND,
            [
                (b.code, b.carrier, b.cabin, b.name, b.price_pct, b.child_pct, b.infant_pct,
                 b.refundable, b.changeable, b.change_fee_minor, b.cancellation_fee_minor,
                 b.checked_bags)
                for b in fare_brands()
            ],
        )  # fmt: skip
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM tax_rules)"):
            rules = TAX_RULES + carrier_surcharges(tuple(a.code for a in AIRLINES))
            await conn.executemany(
                _INSERT_TAX_RULE,
                [
                    (r.code, r.name, r.kind, r.levied_on, r.country, r.airport, r.carrier,
                     r.route, r.premium, r.amount_minor, r.currency, r.percent_bp, r.children,
                     r.infants, r.max_per_slice)
                    for r in rules
                ],
            )  # fmt: skip


# Schedule -----------------------------------------------------------------------------


async def seed_database(
    conn: asyncpg.Connection,
    *,
    flights: int,
    days: int,
    seed: int,
    start_date: date | None = None,
    replace: bool = False,
    on_progress: Callable[[int], None] | None = None,
    chunk_legs: int = CHUNK_LEGS,
) -> SeedReport:
    """Load reference data and ``flights`` generated legs with their cabins.

    Refuses (``AlreadySeeded``) when flights exist, unless ``replace``: then
    flights are truncated first, with everything that references them
    (cabins, booking segments, seat assignments). ``on_progress`` is called
    with the number of legs loaded so far after each chunk of ``chunk_legs``.
    """
    started = time.perf_counter()
    schedule = Schedule(flights=flights, days=days, seed=seed, start_date=start_date)
    async with conn.transaction():
        # Taken first, so that two seeders cannot both find the table empty.
        await conn.execute("LOCK TABLE flights IN ACCESS EXCLUSIVE MODE")
        if not replace and await conn.fetchval("SELECT EXISTS (SELECT 1 FROM flights)"):
            raise AlreadySeeded("the database already has flights; pass replace=True to reseed")
        # Schedule and reference data are not news: no row events (migration 0015).
        await conn.execute("SET LOCAL skybound.capture_rows = 'off'")
        await load_reference_data(conn)
        # Even when empty: on wal_level=minimal, rows COPYed into a table
        # truncated in the same transaction skip the WAL.
        await conn.execute("TRUNCATE flights CASCADE")
        await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        suspended = await suspend_indexes(conn, SCHEDULE_TABLES)

        legs = cabins = 0
        for start, stop in schedule.chunks(chunk_legs):
            # COPY reports 'COPY <rows>'.
            status = await conn.copy_records_to_table(
                "flights", columns=FLIGHT_COLUMNS, records=schedule.flight_rows(start, stop)
            )
            legs += int(status.split()[-1])
            status = await conn.copy_records_to_table(
                "flight_cabins", columns=CABIN_COLUMNS, records=schedule.cabin_rows(start, stop)
            )
            cabins += int(status.split()[-1])
            if on_progress is not None:
                on_progress(stop)

        await restore_indexes(conn, suspended)
        await load_codeshares(conn)
        # Ids were assigned by the generator: later inserts continue after them.
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('flights', 'id'), "
            "coalesce(max(id), 1), max(id) IS NOT NULL) FROM flights"
        )
        airport_count = await conn.fetchval("SELECT count(*) FROM airports")
        airline_count = await conn.fetchval("SELECT count(*) FROM airlines")
    # Fresh statistics, or the planner guesses on a million rows it has never seen.
    await conn.execute("ANALYZE flights, flight_cabins")
    return SeedReport(
        flights=legs,
        flight_cabins=cabins,
        airports=airport_count,
        airlines=airline_count,
        seconds=time.perf_counter() - started,
    )
