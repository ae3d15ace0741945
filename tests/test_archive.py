"""Archiving: bookings whose last flight landed before the cut-off leave the hot tables,
and stay readable by id, in the past view, in the GDPR export, and erasable."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from domain.bookings.archive import ARCHIVER_LOCK, archive_due
from foundation.database import create_pool
from tests.booking_helpers import bearer
from tests.factories import add_brands, add_flight, add_world

NOW = datetime.now(UTC)


@dataclass(frozen=True)
class History:
    owner: uuid.UUID
    old: uuid.UUID  # last flight landed 400 days ago: archived
    recent: uuid.UUID  # 300 days ago: stays
    upcoming: uuid.UUID  # next week: stays


async def _booking(
    db: asyncpg.Connection, owner: uuid.UUID, flight: int, locator: str, number: int
) -> uuid.UUID:
    booking: uuid.UUID = await db.fetchval(
        "INSERT INTO bookings (record_locator, user_id, total_minor, currency, contact_email, "
        "created_at) VALUES ($1, $2, 25000, 'USD', 'ada@example.com', now() - $3::interval) "
        "RETURNING id",
        locator, owner, timedelta(days=number),
    )  # fmt: skip
    await db.execute(
        "INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin, "
        "fare_brand) VALUES ($1, 1, 1, $2, 'economy', 'SB_ECO_STANDARD')",
        booking, flight,
    )  # fmt: skip
    passenger = await db.fetchval(
        "INSERT INTO passengers (booking_id, passenger_no, passenger_type, given_name, "
        "family_name, date_of_birth) VALUES ($1, 1, 'adult', 'Ada', 'Lovelace', '1985-12-10') "
        "RETURNING id",
        booking,
    )
    await db.execute("INSERT INTO seat_assignments (flight_id, seat, booking_id, passenger_id) "
                     "VALUES ($1, '12A', $2, $3)", flight, booking, passenger)  # fmt: skip
    await db.execute(
        "INSERT INTO tickets (ticket_number, booking_id, passenger_id) VALUES ($1, $2, $3)",
        f"90100000000{number:02d}", booking, passenger,
    )  # fmt: skip
    await db.execute(
        "INSERT INTO payments (booking_id, kind, amount_minor, currency, status, provider, "
        "provider_ref) VALUES ($1, 'charge', 25000, 'USD', 'succeeded', 'simulated', $2)",
        booking, locator,
    )  # fmt: skip
    return booking


@pytest.fixture
async def history(db: asyncpg.Connection) -> History:
    """Three bookings of one traveller: travelled 400 and 300 days ago, and travelling soon."""
    await add_world(db)
    await add_brands(db, "SB")
    owner = uuid.uuid4()
    await db.execute("INSERT INTO profiles (user_id, email) VALUES ($1, 'ada@example.com')", owner)
    ids = []
    for n, days in enumerate((-400, -300, 7), start=1):
        flight = await add_flight(db, origin="JFK", destination="LHR", number=n,
                                  departure=NOW + timedelta(days=days))  # fmt: skip
        ids.append(await _booking(db, owner, flight, f"ARCH0{n}", n))
    return History(owner, *ids)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on this test's database."""
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


async def test_only_bookings_that_landed_before_the_cut_off_are_archived(
    history: History, pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    assert await archive_due(pool, after_days=365, batch=1) == 1
    assert {r["id"] for r in await db.fetch("SELECT id FROM bookings")} == {
        history.recent, history.upcoming,
    }  # fmt: skip
    assert await db.fetchval("SELECT array_agg(id) FROM archived_bookings") == [history.old]
    # Passengers, seats, tickets and payments left the hot tables with it.
    for table in ("passengers", "seat_assignments", "tickets", "payments", "booking_segments"):
        assert await db.fetchval(f"SELECT count(*) FROM {table} WHERE booking_id = $1",
                                 history.old) == 0  # fmt: skip
    assert await archive_due(pool, after_days=365) == 0


async def test_one_archiver_at_a_time(history: History, pool: asyncpg.Pool) -> None:
    other = await asyncpg.connect(pool._connect_args[0])  # type: ignore[attr-defined]
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", ARCHIVER_LOCK)
        assert await archive_due(pool, after_days=365) == 0
    finally:
        await other.close()
    assert await archive_due(pool, after_days=365) == 1


async def test_an_archived_booking_reads_as_before_by_id_in_history_and_export(
    client: TestClient, history: History, pool: asyncpg.Pool
) -> None:
    owner = bearer(history.owner)
    before = await (await client.get(f"/v1/bookings/{history.old}", headers=owner)).json()
    past = await (await client.get("/v1/me/bookings?view=past", headers=owner)).json()
    assert await archive_due(pool, after_days=365) == 1

    response = await client.get(f"/v1/bookings/{history.old}", headers=owner)
    assert response.status == 200
    assert await response.json() == before
    stranger = bearer(uuid.uuid4())
    assert (await client.get(f"/v1/bookings/{history.old}", headers=stranger)).status == 404

    assert await (await client.get("/v1/me/bookings?view=past", headers=owner)).json() == past
    first = await (await client.get("/v1/me/bookings?view=past&limit=1", headers=owner)).json()
    assert [b["id"] for b in first["bookings"]] == [str(history.recent)]
    cursor = first["next_cursor"]
    second = await (
        await client.get(f"/v1/me/bookings?view=past&limit=1&cursor={cursor}", headers=owner)
    ).json()
    assert [b["id"] for b in second["bookings"]] == [str(history.old)]
    upcoming = await (await client.get("/v1/me/bookings", headers=owner)).json()
    assert [b["id"] for b in upcoming["bookings"]] == [str(history.upcoming)]

    export = await (await client.get("/v1/me/export", headers=owner)).json()
    # Oldest booking first: the upcoming trip was booked first.
    assert [b["id"] for b in export["bookings"]] == [
        str(history.upcoming), str(history.recent), str(history.old),
    ]  # fmt: skip
    assert export["bookings"][2] == before


async def test_erasure_anonymises_archived_bookings(
    client: TestClient, history: History, pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    assert await archive_due(pool, after_days=365) == 1
    response = await client.delete("/v1/me", headers=bearer(history.owner))
    assert response.status == 204
    row = await db.fetchrow("SELECT user_id, booking FROM archived_bookings")
    assert row["user_id"] is None
    assert row["booking"]["contact_email"] is None
    assert [(p["given_name"], p["family_name"]) for p in row["booking"]["passengers"]] == [
        ("ERASED", "ERASED")
    ]


async def test_the_archive_command_archives_what_is_due(
    history: History, database_url: str, db: asyncpg.Connection
) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "SKYBOUND_LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "archive", "--after-days", "200", env=env,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0
    assert out.decode().startswith("archived 2 bookings whose last flight landed more than 200")
    assert await db.fetchval("SELECT count(*) FROM archived_bookings") == 2
