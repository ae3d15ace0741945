"""Run: .venv/bin/python -m bench.statistics [--bookings 1000000] [--repeats 40]

The statistics endpoints' queries on a big database: an embedded PostgreSQL in a
temporary home, a seeded schedule (20,000 legs over 30 days), and ``--bookings``
bookings spread over the year before, each with a passenger on a leg, its charge, one in
twenty cancelled and refunded, in three currencies; every other passenger holds a seat and
every fourth a paid one. The rollup triggers (migration 0029) run as they would in
production: the load is timed with them. Then each report is run ``--repeats`` times
through the same domain functions the endpoints call, on the request pool, and its p50 and
p95 are reported (goal: p95 under 200 ms on 1,000,000 bookings).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import RESULTS_DIR
from bench.harness.report import write
from bench.harness.stats import percentile
from devtools.seed import seed_database
from domain.admin.route_statistics import SeatQuery, TopRoutesQuery, seat_take_up, top_routes
from domain.admin.statistics import (
    LoadQuery,
    SalesQuery,
    load_report,
    refund_report,
    sales_report,
)
from foundation.database import connect, create_pool
from foundation.embedded import embedded_postgres
from foundation.migrator import migrate

START = date(2026, 12, 1)

# Bookings over the 365 days before START: locators from the row number in base 36.
_BOOKINGS = """
INSERT INTO bookings (record_locator, status, total_minor, currency, created_at, cancelled_at,
                      cancellation_reason)
SELECT lpad(upper(to_hex(n)), 6, '0'),
       CASE WHEN n % 20 = 0 THEN 'cancelled' ELSE 'confirmed' END,
       10000 + (n::bigint * 7919) % 90000,
       (ARRAY['USD', 'EUR', 'GBP'])[1 + n % 3],
       made,
       CASE WHEN n % 20 = 0 THEN made + interval '2 days' END,
       CASE WHEN n % 20 = 0 THEN 'refundable' END
  FROM (SELECT n, $1::timestamptz - make_interval(secs => (n * 31.536)::double precision) AS made
          FROM generate_series(1, $2::int) AS n) AS g
"""
# One passenger per booking on one economy leg; legs drawn by the booking's hash.
_SEGMENTS = """
INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin, fare_brand,
                              booking_class, fare_basis)
SELECT b.id, 1, 1, legs.ids[1 + abs(hashtext(b.id::text)) % cardinality(legs.ids)], 'economy',
       (SELECT code FROM fare_brands WHERE cabin = 'economy' ORDER BY code LIMIT 1), 'Y', 'YSTD'
  FROM bookings b, (SELECT array_agg(id ORDER BY id) AS ids FROM flights) AS legs
"""
_PASSENGERS = """
INSERT INTO passengers (booking_id, passenger_no, passenger_type, given_name, family_name,
                        date_of_birth)
SELECT id, 1, 'adult', 'Ada', 'Lovelace', date '1985-12-10' FROM bookings
"""
_SEATS = """
INSERT INTO seat_assignments (flight_id, seat, booking_id, passenger_id)
SELECT flight_id, ((k - 1) / 6 + 1)::text || substr('ABCDEF', ((k - 1) % 6 + 1)::int, 1),
       booking_id, passenger_id
  FROM (SELECT s.flight_id, s.booking_id, p.id AS passenger_id,
               row_number() OVER (PARTITION BY s.flight_id ORDER BY s.booking_id) AS k
          FROM booking_segments s JOIN passengers p ON p.booking_id = s.booking_id) AS seated
 WHERE k % 2 = 0 AND k <= 2 * 6 * 60
"""
_PAID_SEATS = """
INSERT INTO emds (emd_number, booking_id, passenger_id, description, flight_id, seat,
                  amount_minor, currency, status)
SELECT lpad((row_number() OVER ())::text, 13, '0'), a.booking_id, a.passenger_id,
       'Seat ' || a.seat, a.flight_id, a.seat, 2500, b.currency, 'open'
  FROM seat_assignments a JOIN bookings b ON b.id = a.booking_id
 WHERE abs(hashtext(a.booking_id::text)) % 2 = 0
"""
_CHARGES = """
INSERT INTO payments (booking_id, kind, amount_minor, currency, status, provider, created_at)
SELECT id, 'charge', total_minor, currency, 'succeeded', 'simulated', created_at FROM bookings
"""
_REFUNDS = """
INSERT INTO payments (booking_id, kind, amount_minor, currency, status, provider, created_at,
                      reason)
SELECT id, 'refund', total_minor, currency, 'succeeded', 'simulated', cancelled_at,
       'cancellation (refundable)'
  FROM bookings WHERE status = 'cancelled'
"""
_SOLD = "UPDATE flight_cabins SET seats_sold = (capacity * ((flight_id * 37) % 100)) / 100"


async def _build(url: str, bookings: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    conn = await connect(url)
    try:
        await migrate(conn)
        started = time.perf_counter()
        await seed_database(conn, flights=20_000, days=30, seed=1, start_date=START)
        timings["seed 20,000 legs"] = time.perf_counter() - started
        started = time.perf_counter()
        async with conn.transaction():  # the rollup sees each booking's leg at commit
            await conn.execute(
                _BOOKINGS, datetime.combine(START, datetime.min.time(), UTC), bookings
            )
            await conn.execute(_SEGMENTS)
            await conn.execute(_PASSENGERS)
        timings["bookings with legs and passengers, rolled up"] = time.perf_counter() - started
        for name, sql, args in (
            ("seats", _SEATS, ()),
            ("paid seats", _PAID_SEATS, ()),
            ("charges", _CHARGES, ()),
            ("refunds", _REFUNDS, ()),
            ("seats sold", _SOLD, ()),
            # As autovacuum leaves a table: statistics, and a visibility map for index-only scans.
            ("vacuum analyze", "VACUUM ANALYZE", ()),
        ):  # fmt: skip
            started = time.perf_counter()
            await conn.execute(sql, *args)
            timings[name] = time.perf_counter() - started
    finally:
        await conn.close()
    return timings


async def _measure(url: str, repeats: int) -> list[tuple[str, float, float]]:
    pool = await create_pool(url, min_size=1, max_size=2)
    day = START - timedelta(days=1)
    sales_30 = SalesQuery.model_validate({"from": day - timedelta(days=29), "to": day})
    sales_366 = SalesQuery.model_validate({"from": day - timedelta(days=365), "to": day})
    route_week = LoadQuery.model_validate({"from": START, "to": START + timedelta(days=6)})
    flights_day = LoadQuery.model_validate({"from": START, "to": START, "by": "flight"})
    from_hub = LoadQuery.model_validate({"from": START, "to": START + timedelta(days=30),
                                         "origin": "LHR", "by": "flight"})  # fmt: skip
    routes_30 = TopRoutesQuery.model_validate({"from": day - timedelta(days=29), "to": day})
    routes_366 = TopRoutesQuery.model_validate({"from": day - timedelta(days=365), "to": day})
    seats_week = SeatQuery.model_validate({"from": START, "to": START + timedelta(days=6)})
    seats_month = SeatQuery.model_validate({"from": START, "to": START + timedelta(days=30)})
    seats_day = SeatQuery.model_validate({"from": START, "to": START, "by": "flight"})
    cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("sales, 30 days", lambda: sales_report(pool, sales_30)),
        ("sales, 366 days", lambda: sales_report(pool, sales_366)),
        ("load factor by route, 7 days", lambda: load_report(pool, route_week)),
        ("load factor by flight, 1 day", lambda: load_report(pool, flights_day)),
        ("load factor by flight from LHR, 31 days", lambda: load_report(pool, from_hub)),
        ("cancellations and refunds, 366 days", lambda: refund_report(pool, sales_366)),
        ("top routes, 366 days", lambda: top_routes(pool, routes_366)),
        ("top routes, 30 days", lambda: top_routes(pool, routes_30)),
        ("seat take-up by route, 7 days", lambda: seat_take_up(pool, seats_week)),
        ("seat take-up by route, 31 days", lambda: seat_take_up(pool, seats_month)),
        ("seat take-up by flight, 1 day", lambda: seat_take_up(pool, seats_day)),
    ]
    results = []
    try:
        for name, run in cases:
            await run()  # warm the cache, as a dashboard that refreshes would
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                await run()
                samples.append((time.perf_counter() - started) * 1000)
            samples.sort()
            results.append((name, percentile(samples, 0.5), percentile(samples, 0.95)))
    finally:
        await pool.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.statistics")
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="skybound-bench-stats-"))
    try:
        with embedded_postgres(home) as url:
            timings = asyncio.run(_build(url, args.bookings))
            results = asyncio.run(_measure(url, args.repeats))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    lines = [
        f"Command: `.venv/bin/python -m bench.statistics --bookings {args.bookings} "
        f"--repeats {args.repeats}`",
        "",
        "Building: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()),
        "",
        "| report | p50 | p95 |",
        "|---|---:|---:|",
        *(f"| {name} | {p50:.1f} ms | {p95:.1f} ms |" for name, p50, p95 in results),
    ]
    write("\n".join(lines) + "\n", RESULTS_DIR / "statistics.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
