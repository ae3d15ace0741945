"""Run: .venv/bin/python -m bench.statistics [--bookings 1000000] [--repeats 40]

The statistics endpoints' queries on a big database: an embedded PostgreSQL in a
temporary home, a seeded schedule (20,000 legs over 30 days), and ``--bookings``
bookings spread over the year before, each with its charge, one in twenty cancelled and
refunded, in three currencies. Then each report is run ``--repeats`` times through the
same domain functions the endpoints call, on the request pool, and its p50 and p95 are
reported (goal: p95 under 200 ms on 1,000,000 bookings).
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
from domain.admin.statistics import LoadQuery, SalesQuery, load_report, sales_report
from foundation.database import connect, create_pool
from foundation.embedded import embedded_postgres
from foundation.migrator import migrate

START = date(2026, 12, 1)

# Bookings over the 365 days before START: locators from the row number in base 36.
_BOOKINGS = """
INSERT INTO bookings (record_locator, status, total_minor, currency, created_at, cancelled_at)
SELECT lpad(upper(to_hex(n)), 6, '0'),
       CASE WHEN n % 20 = 0 THEN 'cancelled' ELSE 'confirmed' END,
       10000 + (n::bigint * 7919) % 90000,
       (ARRAY['USD', 'EUR', 'GBP'])[1 + n % 3],
       made,
       CASE WHEN n % 20 = 0 THEN made + interval '2 days' END
  FROM (SELECT n, $1::timestamptz - make_interval(secs => (n * 31.536)::double precision) AS made
          FROM generate_series(1, $2::int) AS n) AS g
"""
_CHARGES = """
INSERT INTO payments (booking_id, kind, amount_minor, currency, status, provider, created_at)
SELECT id, 'charge', total_minor, currency, 'succeeded', 'simulated', created_at FROM bookings
"""
_REFUNDS = """
INSERT INTO payments (booking_id, kind, amount_minor, currency, status, provider, created_at)
SELECT id, 'refund', total_minor, currency, 'succeeded', 'simulated', cancelled_at
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
        for name, sql, args in (
            ("bookings", _BOOKINGS, (datetime.combine(START, datetime.min.time(), UTC),
                                     bookings)),
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
    cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("sales, 30 days", lambda: sales_report(pool, sales_30)),
        ("sales, 366 days", lambda: sales_report(pool, sales_366)),
        ("load factor by route, 7 days", lambda: load_report(pool, route_week)),
        ("load factor by flight, 1 day", lambda: load_report(pool, flights_day)),
        ("load factor by flight from LHR, 31 days", lambda: load_report(pool, from_hub)),
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
