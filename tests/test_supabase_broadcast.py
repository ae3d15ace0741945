"""Broadcast from Database: on a Supabase project's PostgreSQL, every change event also goes
to Supabase Realtime on its topics, readable as Skybound's topic rules allow.

The database here reproduces the Supabase parts it relies on (tests/supabase_realtime.sql:
roles, auth.uid(), realtime.messages with row-level security, realtime.topic(),
realtime.send()), installed before Skybound's migrations run, as on a Supabase project.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import orjson
import pytest

from foundation.database import connect
from foundation.migrator import migrate
from tests.factories import add_flight, add_world
from tests.postgres import TestPostgres, with_database

_SUPABASE = Path(__file__).with_name("supabase_realtime.sql").read_text(encoding="utf-8")


@pytest.fixture
async def supabase_db(postgres: TestPostgres) -> AsyncIterator[asyncpg.Connection]:
    """A database shaped like a Supabase project's, then migrated by Skybound."""
    database = await postgres.create_database("template0")
    try:
        conn = await connect(with_database(postgres.admin_url, database))
        try:
            await conn.execute(_SUPABASE)
            await migrate(conn)
            await add_world(conn)
            yield conn
        finally:
            await conn.close()
    finally:
        await postgres.drop_database(database)


async def _flight(db: asyncpg.Connection) -> int:
    departure = datetime.now(UTC) + timedelta(hours=5)
    return await add_flight(db, origin="JFK", destination="LHR", departure=departure,
                            block=timedelta(hours=7))  # fmt: skip


async def test_each_change_event_reaches_supabase_realtime_on_its_topics_in_order(
    supabase_db: asyncpg.Connection,
) -> None:
    flight = await _flight(supabase_db)
    await supabase_db.execute("UPDATE flights SET departure_gate = 'B22' WHERE id = $1", flight)
    await supabase_db.execute(
        "UPDATE flights SET estimated_departure = scheduled_departure + interval '40 minutes'"
        " WHERE id = $1",
        flight,
    )
    events = await supabase_db.fetch(
        "SELECT id, event_type, topics FROM change_events WHERE entity = 'flight' ORDER BY id"
    )
    messages = await supabase_db.fetch(
        """SELECT topic, event, private, extension, payload FROM realtime.messages
           WHERE topic <> 'skybound:changes' ORDER BY (payload ->> 'id')::bigint, topic"""
    )
    expected = sorted(
        (e["id"], topic, e["event_type"])
        for e in events
        for topic in e["topics"]
        if topic.startswith(("board:", "flight:", "seats:", "user:"))
    )
    got = [(int(m["payload"]["id"]), m["topic"], m["event"]) for m in messages]
    assert got == expected
    assert f"flight:{flight}" in {m["topic"] for m in messages}
    assert "board:JFK:departures" in {m["topic"] for m in messages}
    assert all(m["private"] and m["extension"] == "broadcast" for m in messages)
    last = messages[-1]["payload"]
    assert last["type"] == "flight.delayed"
    assert last["data"]["flight"]["estimated_departure"] is not None


async def test_each_transaction_appending_change_events_sends_one_wake_up(
    supabase_db: asyncpg.Connection,
) -> None:
    departure = datetime.now(UTC) + timedelta(hours=5)
    flights = [
        await add_flight(supabase_db, origin="JFK", destination="LHR", departure=departure,
                         number=200 + n)
        for n in range(3)
    ]  # fmt: skip
    before = await supabase_db.fetchval("SELECT coalesce(max(id), 0) FROM change_events")
    await supabase_db.execute(
        "UPDATE flights SET departure_gate = 'C' || id WHERE id = ANY($1::bigint[])", flights
    )
    first = await supabase_db.fetchval("SELECT min(id) FROM change_events WHERE id > $1", before)
    newest = await supabase_db.fetchval("SELECT max(id) FROM change_events")
    assert newest - before >= 3  # one transaction appended several events...
    wakes = await supabase_db.fetch(
        """SELECT event, private, extension, payload FROM realtime.messages
           WHERE topic = 'skybound:changes' AND (payload ->> 'id')::bigint > $1""",
        before,
    )
    # ...and woke the listeners once.
    assert [(w["event"], w["private"], w["extension"]) for w in wakes] == [
        ("changes", True, "broadcast")
    ]
    assert wakes[0]["payload"] == {"id": first}


async def _can_read(
    db: asyncpg.Connection, topic: str, role: str, sub: uuid.UUID | None = None
) -> bool:
    """Supabase Realtime's check when a client joins a private channel: a probe message
    on the topic, then a SELECT under the client's role, topic and JWT claims."""
    claims = orjson.dumps({"role": role, **({"sub": str(sub)} if sub else {})}).decode()
    transaction = db.transaction()
    await transaction.start()
    try:  # rolled back whatever happens: the probe must not stay
        probe = await db.fetchval(
            "INSERT INTO realtime.messages (topic, extension) VALUES ($1, 'broadcast') "
            "RETURNING id",
            topic,
        )
        await db.execute(
            """SELECT set_config('role', $1, true), set_config('realtime.topic', $2, true),
                      set_config('request.jwt.claims', $3, true),
                      set_config('request.jwt.claim.sub', $4, true)""",
            role, topic, claims, str(sub) if sub else "",
        )  # fmt: skip
        seen = await db.fetchval("SELECT count(*) FROM realtime.messages WHERE id = $1", probe)
    finally:
        await transaction.rollback()
    return bool(seen)


async def test_topics_are_readable_as_skybounds_rules_allow(
    supabase_db: asyncpg.Connection,
) -> None:
    ada, bob = uuid.uuid4(), uuid.uuid4()
    assert await _can_read(supabase_db, "board:JFK:departures", "anon")
    assert await _can_read(supabase_db, "flight:42", "anon")
    assert await _can_read(supabase_db, "seats:42", "authenticated", ada)
    assert not await _can_read(supabase_db, f"user:{ada}", "anon")
    assert await _can_read(supabase_db, f"user:{ada}", "authenticated", ada)
    assert not await _can_read(supabase_db, f"user:{ada}", "authenticated", bob)
    assert not await _can_read(supabase_db, "chat:lobby", "authenticated", ada)


async def test_without_supabase_realtime_the_migration_changes_nothing(
    db: asyncpg.Connection,
) -> None:
    assert await db.fetchval("SELECT to_regprocedure('broadcast_change_to_supabase()')") is None
    assert await db.fetchval("SELECT to_regprocedure('wake_supabase_listeners()')") is None
    assert not await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_trigger"
        " WHERE tgname = 'change_events_to_supabase_realtime')"
    )
