"""Row changes in the change log: what postgres_changes are built from (migration 0015)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from streams.phoenix.bindings import TABLES, publish_tables
from tests.factories import add_flight, add_world

SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)


@pytest.fixture(autouse=True)
async def published(db: asyncpg.Connection) -> None:
    """Every exposed table publishes its rows (the default is none)."""
    await publish_tables(db, TABLES)


async def _row_events(db: asyncpg.Connection, after: int = 0) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT id, event_type, topics, payload FROM change_events"
        " WHERE entity = 'row' AND id > $1 ORDER BY id",
        after,
    )


async def test_an_insert_update_and_delete_of_a_flight_are_row_events_in_order(
    db: asyncpg.Connection,
) -> None:
    await add_world(db)
    flight = await add_flight(db, origin="JFK", destination="LHR", number=7, departure=SOON)
    await db.execute("UPDATE flights SET departure_gate = 'B9' WHERE id = $1", flight)
    await db.execute("DELETE FROM flights WHERE id = $1", flight)
    events = [e for e in await _row_events(db) if e["topics"] == ["pg:public:flights"]]
    kinds = [e["event_type"] for e in events]
    assert kinds == ["row.insert", "row.update", "row.delete"]
    inserted, updated, deleted = (e["payload"]["row"] for e in events)
    assert inserted["type"] == "INSERT"
    assert "old_record" not in inserted
    assert inserted["record"]["id"] == flight
    assert (updated["old_record"]["departure_gate"], updated["record"]["departure_gate"]) == (
        None,
        "B9",
    )
    assert deleted["type"] == "DELETE"
    assert "record" not in deleted
    assert deleted["old_record"]["id"] == flight


async def test_a_bulk_update_is_one_event_per_row_paired_by_key(db: asyncpg.Connection) -> None:
    await add_world(db)
    flights = [
        await add_flight(db, origin="JFK", destination="LHR", number=n, departure=SOON)
        for n in (1, 2, 3)
    ]
    newest = await db.fetchval("SELECT max(id) FROM change_events")
    await db.execute("UPDATE flights SET baggage_belt = 'belt-' || id")
    events = await _row_events(db, newest)
    rows = [e["payload"]["row"] for e in events]
    assert sorted(r["record"]["id"] for r in rows) == sorted(flights)
    for row in rows:
        assert row["record"]["baggage_belt"] == f"belt-{row['old_record']['id']}"


async def test_booking_rows_carry_their_owner_topic_and_no_contact_details(
    db: asyncpg.Connection,
) -> None:
    owner = uuid.uuid4()
    await db.execute("INSERT INTO profiles (user_id) VALUES ($1)", owner)
    booking = await db.fetchval(
        "INSERT INTO bookings (record_locator, user_id, total_minor, currency, contact_email)"
        " VALUES ('ABC123', $1, 100, 'USD', 'ada@example.com') RETURNING id",
        owner,
    )
    (event,) = [e for e in await _row_events(db) if "pg:public:bookings" in e["topics"]]
    assert event["topics"] == ["pg:public:bookings", f"pg:public:bookings:{owner}"]
    record = event["payload"]["row"]["record"]
    assert record["id"] == str(booking)
    assert "contact_email" not in record
    assert "contact_phone" not in record


async def test_erasure_deletes_the_row_events_of_the_users_bookings(
    database_url: str, db: asyncpg.Connection
) -> None:
    from domain.profiles import erase_user_data
    from foundation.database import create_pool

    owner = uuid.uuid4()
    await db.execute("INSERT INTO profiles (user_id) VALUES ($1)", owner)
    await db.execute(
        "INSERT INTO bookings (record_locator, user_id, total_minor, currency)"
        " VALUES ('ERA123', $1, 100, 'USD')",
        owner,
    )
    owner_topic = f"pg:public:bookings:{owner}"
    count = "SELECT count(*) FROM change_events WHERE topics @> ARRAY[$1::text]"
    assert await db.fetchval(count, owner_topic) == 1
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        await erase_user_data(pool, owner)
    finally:
        await pool.close()
    # Nothing is left that ties the erased user to a booking, not even the unlinking.
    assert await db.fetchval(count, owner_topic) == 0
    assert await db.fetchval("SELECT user_id FROM bookings WHERE record_locator = 'ERA123'") is None


async def test_a_table_that_is_not_published_writes_no_row_events(
    db: asyncpg.Connection,
) -> None:
    await db.execute("DELETE FROM realtime_tables WHERE table_name = 'airports'")
    newest = await db.fetchval("SELECT coalesce(max(id), 0) FROM change_events")
    await add_world(db)
    airports = await db.fetchval(
        "SELECT count(*) FROM change_events"
        " WHERE id > $1 AND topics @> ARRAY['pg:public:airports']",
        newest,
    )
    assert airports == 0
