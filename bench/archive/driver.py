"""``GET /v1/me/bookings`` (its query, ``list_bookings``) with 1,000,000 archived bookings of
other users against none, on one embedded PostgreSQL in one run.

A traveller has 40 bookings on the seeded schedule's flights, half of them already
flown. The database is then copied, and the copy gets a million archived bookings of
50,000 other users. Their upcoming and past views are read ``--rounds`` times on each
database in turn (so that a shared machine's drift weighs on both alike); the goal is at
least 0.9x the throughput without the archive. The booking path never reads the archive.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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


async def _timed(pool: asyncpg.Pool, owner: uuid.UUID, view: str) -> float:
    started = time.perf_counter()
    page = await list_bookings(pool, owner, view, 20)  # type: ignore[arg-type]
    elapsed = (time.perf_counter() - started) * 1000
    assert len(page.bookings) == 20, (view, len(page.bookings))
    return elapsed


async def _alternating(
    plain: asyncpg.Pool, archived: asyncpg.Pool, owner: uuid.UUID, rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each view read on both databases in turn, first one then the other, so that
    whatever the shared machine does meanwhile weighs on both alike."""
    before: dict[str, list[float]] = {"upcoming": [], "past": []}
    after: dict[str, list[float]] = {"upcoming": [], "past": []}
    for n in range(rounds):
        for view in before:
            if n % 2:
                after[view].append(await _timed(archived, owner, view))
                before[view].append(await _timed(plain, owner, view))
            else:
                before[view].append(await _timed(plain, owner, view))
                after[view].append(await _timed(archived, owner, view))
    return before, after


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
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    # The same database twice: one gets the archive.
    admin = await connect(url)
    try:
        await admin.execute('CREATE DATABASE "archived" TEMPLATE "skybound"')
    finally:
        await admin.close()
    archived_url = urlunsplit(urlsplit(url)._replace(path="/archived"))
    conn = await connect(archived_url)
    try:
        started = time.perf_counter()
        for first in range(1, 1_000_001, 100_000):
            await conn.execute(_ARCHIVED, first, first + 99_999)
        load_s = time.perf_counter() - started
        # Settle what the load left behind (autovacuum, dirty buffers), so that the
        # timings measure the archive, not the aftermath of writing it.
        await conn.execute("VACUUM ANALYZE archived_bookings")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    plain = await create_pool(url, min_size=1, max_size=1)
    archived = await create_pool(archived_url, min_size=1, max_size=1)
    try:
        await _alternating(plain, archived, owner, 40)  # warm up
        before, after = await _alternating(plain, archived, owner, rounds)
    finally:
        await plain.close()
        await archived.close()
    return before, after, load_s


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
