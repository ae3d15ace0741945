"""``GET /v1/me/bookings`` (its query, ``list_bookings``) with 1,000,000 archived bookings of
other users against none, on one embedded PostgreSQL in one run.

A traveller has 40 bookings on the seeded schedule's flights, half of them already
flown. Their upcoming and past views are read ``--rounds`` times before and after a
million archived bookings (of 50,000 other users) are added, and once more after they
are removed again (the baseline is both runs without them: a shared machine drifts within
a run); the goal is at least 0.9x the throughput without them. The booking path itself
never reads the archive.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bench.harness import RESULTS_DIR
from bench.harness.postgres import bench_home, guarded_run
from bench.harness.report import header, invocation, write
from bench.harness.versions import run_settings
from devtools.seed import seed_database
from domain.bookings.queries import list_bookings
from foundation.database import connect, create_pool
from foundation.migrator import migrate

GOAL = 0.9

# A million archived bookings of 50,000 other users, in batches of 100,000.
_ARCHIVED = """
INSERT INTO archived_bookings (id, record_locator, user_id, status, total_minor, currency,
                               created_at, origin, origin_tz, destination, destination_tz,
                               first_departure, last_arrival, passengers, booking)
SELECT gen_random_uuid(), upper(substr(md5(n::text), 1, 6)),
       ('00000000-0000-4000-8000-' || lpad(to_hex(n % 50000), 12, '0'))::uuid,
       'confirmed', 25000, 'USD', now() - interval '500 days' + n * interval '1 second',
       'JFK', 'America/New_York', 'LHR', 'Europe/London',
       now() - interval '450 days' + n * interval '1 second',
       now() - interval '449 days' + n * interval '1 second', 1,
       jsonb_build_object('id', n)
  FROM generate_series($1::int, $2::int) AS n
"""


async def _bookings(conn: asyncpg.Connection, owner: uuid.UUID) -> None:
    """40 bookings of ``owner``: 20 on flown legs, 20 on legs still to fly."""
    await conn.execute("INSERT INTO profiles (user_id) VALUES ($1)", owner)
    now = datetime.now(UTC)
    past = await conn.fetch(
        "SELECT id FROM flights WHERE scheduled_arrival < $1 ORDER BY id LIMIT 20", now
    )
    future = await conn.fetch(
        "SELECT id FROM flights WHERE scheduled_departure > $1 ORDER BY id LIMIT 20", now
    )
    brand = await conn.fetchval("SELECT code FROM fare_brands ORDER BY code LIMIT 1")
    for n, flight in enumerate([*past, *future]):
        booking = await conn.fetchval(
            "INSERT INTO bookings (record_locator, user_id, total_minor, currency) "
            "VALUES ($1, $2, 10000, 'USD') RETURNING id",
            f"BNCH{n:02d}", owner,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin, "
            "fare_brand) VALUES ($1, 1, 1, $2, 'economy', $3)",
            booking, flight["id"], brand,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO passengers (booking_id, passenger_no, passenger_type, given_name, "
            "family_name, date_of_birth) VALUES ($1, 1, 'adult', 'Ada', 'Lovelace', "
            "'1985-12-10')",
            booking,
        )


async def _timings(pool: asyncpg.Pool, owner: uuid.UUID, rounds: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"upcoming": [], "past": []}
    for view in found:
        for _ in range(rounds):
            started = time.perf_counter()
            page = await list_bookings(pool, owner, view, 20)  # type: ignore[arg-type]
            found[view].append((time.perf_counter() - started) * 1000)
            assert len(page.bookings) == 20, (view, len(page.bookings))
    return found


async def _run(
    url: str, rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], float]:
    conn = await connect(url)
    try:
        await migrate(conn)
        start = datetime.now(UTC).date() - timedelta(days=10)
        await seed_database(conn, flights=20_000, days=20, seed=1, start_date=start)
        owner = uuid.uuid4()
        await _bookings(conn, owner)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        await _timings(pool, owner, 20)  # warm up
        before = await _timings(pool, owner, rounds)
        started = time.perf_counter()
        async with pool.acquire() as conn:
            for first in range(1, 1_000_001, 100_000):
                await conn.execute(_ARCHIVED, first, first + 99_999)
            load_s = time.perf_counter() - started
            # Settle what the load left behind (autovacuum, dirty buffers), so that the
            # timings after measure the archive, not the aftermath of writing it.
            await conn.execute("VACUUM ANALYZE archived_bookings")
            await conn.execute("CHECKPOINT")
        await _timings(pool, owner, 20)
        after = await _timings(pool, owner, rounds)
        # And the baseline again without the archive: the machine drifts within a run.
        async with pool.acquire() as conn:
            await conn.execute("TRUNCATE archived_bookings")
            await conn.execute("CHECKPOINT")
        await _timings(pool, owner, 20)
        again = await _timings(pool, owner, rounds)
    finally:
        await pool.close()
    return {v: before[v] + again[v] for v in before}, after, load_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "archive.md")
    args = parser.parse_args(argv)
    settings = run_settings("PostgreSQL (embedded)")
    notes: list[str] = []
    lines = header("Booking history with an archive", invocation("bench.archive", argv or []),
                   settings)  # fmt: skip
    with bench_home(None) as (home, owned), guarded_run(home, owned, notes) as run:
        url = run.hold_postgres()
        before, after, load_s = asyncio.run(_run(url, args.rounds))
        lines += ["", "| view | p50 ms, no archive | p50 ms, 1,000,000 archived | throughput "
                  "ratio (p50) | p95 ms before / after |", "|---|---:|---:|---:|---:|"]  # fmt: skip
        for view in before:
            b50, a50 = statistics.median(before[view]), statistics.median(after[view])
            b95 = sorted(before[view])[int(0.95 * len(before[view])) - 1]
            a95 = sorted(after[view])[int(0.95 * len(after[view])) - 1]
            ratio = b50 / a50
            lines.append(f"| {view} | {b50:.2f} | {a50:.2f} | {ratio:.2f} | {b95:.2f} / "
                         f"{a95:.2f} |")  # fmt: skip
            notes.append(f"{view}: goal >= {GOAL}x: " + ("met" if ratio >= GOAL else "NOT met"))
        notes.append(f"inserting the 1,000,000 archived bookings took {load_s:.1f} s")
    lines += ["", "## Notes", "", *[f"- {n}" for n in notes], ""]
    write("\n".join(lines), args.output)
    return run.code
