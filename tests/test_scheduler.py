"""The durable scheduler: due jobs claimed by any worker, each run exactly once (its
effects and its completion commit together), retried after a failure, moved with
their flight; and the trip reminders it runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from domain.notifications.enqueue import ReminderPlan, TripMail
from domain.notifications.reminders import REMINDER_JOBS, send_trip_reminder
from foundation import scheduler as scheduling
from foundation.database import create_pool
from foundation.scheduler import Job, Scheduler
from foundation.settings import Settings
from server.app import create_app
from tests.mail_helpers import (
    ControlledSmtp,
    a_flight,
    arrived,
    book_in_sql,
    controlled_smtp,
    outbox_settled,
    parts,
)
from tests.smtp import Mailbox, with_smtp

_ = controlled_smtp  # the fixture, from its helper module


@pytest.fixture
async def pools(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """Two pools on this test's database, as two workers (or instances) have."""
    first = await create_pool(database_url, min_size=1, max_size=4)
    second = await create_pool(database_url, min_size=1, max_size=4)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def _record_run(conn: asyncpg.Connection, job: Job) -> str:
    await conn.execute("INSERT INTO job_runs (job_key) VALUES ($1)", job.key)
    await asyncio.sleep(0)  # let the other scheduler try for the same job meanwhile
    return "ran"


async def _add_jobs(
    db: asyncpg.Connection, count: int, due: timedelta = timedelta(minutes=-1)
) -> None:
    await db.execute("CREATE TABLE IF NOT EXISTS job_runs (job_key text NOT NULL)")
    await db.execute(
        "INSERT INTO scheduled_jobs (kind, job_key, due_at)"
        " SELECT 'test', 'test:' || n, now() + $2::interval FROM generate_series(1, $1) AS n",
        count, due,
    )  # fmt: skip


async def test_two_schedulers_run_every_due_job_exactly_once(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], db: asyncpg.Connection
) -> None:
    await _add_jobs(db, 40)
    await db.execute(
        "INSERT INTO scheduled_jobs (kind, job_key, due_at)"
        " VALUES ('test', 'later', now() + interval '1 hour')"
    )
    schedulers = [Scheduler(pool, {"test": _record_run}) for pool in pools]
    counts = await asyncio.gather(*(s.run_due() for s in schedulers))
    assert sum(counts) == 40
    runs = await db.fetch("SELECT job_key, count(*) AS n FROM job_runs GROUP BY job_key")
    assert len(runs) == 40
    assert all(r["n"] == 1 for r in runs)
    assert await db.fetchval("SELECT count(*) FROM scheduled_jobs WHERE done_at IS NULL") == 1
    outcomes = await db.fetch("SELECT DISTINCT outcome, attempts FROM scheduled_jobs"
                              " WHERE done_at IS NOT NULL")  # fmt: skip
    assert [tuple(o) for o in outcomes] == [("ran", 1)]


async def test_a_run_cut_off_mid_job_rolls_back_and_the_job_runs_once_later(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], db: asyncpg.Connection
) -> None:
    """The worker's connection dies while its job runs (as when the worker is killed):
    nothing the job did survives, and the next scheduler runs it once."""
    await _add_jobs(db, 1)
    started = asyncio.Event()

    async def stuck(conn: asyncpg.Connection, job: Job) -> str:
        await conn.execute("INSERT INTO job_runs (job_key) VALUES ($1)", job.key)
        started.set()
        await conn.execute("SELECT pg_sleep(60)")
        return "never"

    cut_off = asyncio.create_task(Scheduler(pools[0], {"test": stuck}).run_one())
    await asyncio.wait_for(started.wait(), 30)
    # The job's row is locked by the stuck run: another scheduler finds nothing due.
    assert await Scheduler(pools[1], {"test": _record_run}).run_one() is False
    await db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()"
    )
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
        await cut_off
    assert await db.fetchval("SELECT count(*) FROM job_runs") == 0
    assert await Scheduler(pools[1], {"test": _record_run}).run_one() is True
    assert await db.fetchval("SELECT count(*) FROM job_runs") == 1
    assert await db.fetchval("SELECT outcome FROM scheduled_jobs") == "ran"


async def test_a_failing_job_is_rolled_back_and_retried(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(scheduling, "RETRY_BASE_SECONDS", 0.0)
    await _add_jobs(db, 1)
    failures = [RuntimeError("first"), None]

    async def flaky(conn: asyncpg.Connection, job: Job) -> str:
        await conn.execute("INSERT INTO job_runs (job_key) VALUES ($1)", job.key)
        failure = failures.pop(0)
        if failure:
            raise failure
        return "ran"

    scheduler = Scheduler(pools[0], {"test": flaky})
    assert await scheduler.run_one() is True
    row = await db.fetchrow("SELECT attempts, done_at, last_error FROM scheduled_jobs")
    assert (row["attempts"], row["done_at"]) == (1, None)
    assert "first" in row["last_error"]
    assert await db.fetchval("SELECT count(*) FROM job_runs") == 0
    assert await scheduler.run_one() is True
    assert await db.fetchval("SELECT count(*) FROM job_runs") == 1
    assert await db.fetchval("SELECT attempts FROM scheduled_jobs") == 2


async def test_reminders_move_with_the_flights_time(db: asyncpg.Connection) -> None:
    flight = await a_flight(db, hours=48)
    booked = await book_in_sql(db, flight, locator="REM001",
                               passengers=[("Ada", "ada@example.com")])  # fmt: skip
    # This carrier opens check-in 30 hours ahead: the "check in now" mail follows it.
    await db.execute(
        "UPDATE airlines SET check_in_opens_hours = 30"
        " WHERE code = (SELECT carrier FROM flights WHERE id = $1)",
        flight,
    )
    mail = TripMail(ReminderPlan(timedelta(hours=3)))
    async with db.transaction():
        await mail.schedule_reminders(db, booked.booking)
        await mail.schedule_reminders(db, booked.booking)  # again: nothing more

    async def due() -> dict[str, Any]:
        rows = await db.fetch(
            "SELECT j.kind, j.due_at = coalesce(f.estimated_departure, f.scheduled_departure)"
            " - j.lead AS follows, j.due_at FROM scheduled_jobs j JOIN flights f"
            " ON f.id = j.flight_id ORDER BY kind"
        )
        return {r["kind"]: (r["follows"], r["due_at"]) for r in rows}

    before = await due()
    assert list(before) == ["checkin_open", "departure_reminder"]
    leads = dict(await db.fetch("SELECT kind, lead FROM scheduled_jobs"))
    assert leads == {"checkin_open": timedelta(hours=30), "departure_reminder": timedelta(hours=3)}
    assert all(follows for follows, _ in before.values())
    await db.execute(
        "UPDATE flights SET estimated_departure = scheduled_departure + interval '2 hours'"
        " WHERE id = $1",
        flight,
    )
    after = await due()
    for kind in before:
        assert after[kind][0]
        assert after[kind][1] - before[kind][1] == timedelta(hours=2)


async def test_a_reminder_for_a_flight_that_left_or_a_cancelled_booking_sends_nothing(
    pools: tuple[asyncpg.Pool, asyncpg.Pool], db: asyncpg.Connection
) -> None:
    left = await a_flight(db, hours=-1, number=500)
    later = await a_flight(db, hours=10, number=501)
    gone = await book_in_sql(db, left, locator="REM010", passengers=[("Ada", "a@example.com")])
    cancelled = await book_in_sql(db, later, locator="REM011",
                                  passengers=[("Bob", "b@example.com")])  # fmt: skip
    await db.execute(
        "UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = $1",
        cancelled.booking,
    )
    await db.execute(
        "INSERT INTO scheduled_jobs (kind, job_key, payload, flight_id, lead, due_at)"
        " VALUES ('departure_reminder', 'r1', $1, $2, '3 hours', now() - interval '4 hours'),"
        "        ('checkin_open', 'r2', $3, $4, '24 hours', now() - interval '14 hours')",
        {"booking_id": str(gone.booking), "flight_id": left},
        left,
        {"booking_id": str(cancelled.booking), "flight_id": later},
        later,
    )  # fmt: skip
    scheduler = Scheduler(pools[0], dict.fromkeys(REMINDER_JOBS, send_trip_reminder))
    assert await scheduler.run_due() == 2
    outcomes = await db.fetch("SELECT job_key, outcome FROM scheduled_jobs ORDER BY job_key")
    assert [tuple(o) for o in outcomes] == [("r1", "too late"), ("r2", "booking cancelled")]
    assert await db.fetchval("SELECT count(*) FROM mail_outbox") == 0


async def test_check_in_opens_with_an_email_to_each_passenger(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection,
    controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, _server = controlled_smtp
    flight = await a_flight(db, hours=20)  # check-in opened four hours ago
    booked = await book_in_sql(db, flight, locator="REM020", language="es", passengers=[
        ("Ada", "ada@example.com"), ("Bob", None),
    ])  # fmt: skip
    async with db.transaction():
        await TripMail().schedule_reminders(db, booked.booking)
    await aiohttp_client(create_app(with_smtp(settings, mailbox)))
    messages = await arrived(mailbox, 2)
    assert sorted(str(m["To"]) for m in messages) == ["ada@example.com", "contact@example.com"]
    for message in messages:
        assert message["Subject"] == "Haga el check-in para SB100 a London"
        body = parts(message)
        assert f"/bookings/{booked.booking}/check-in" in body["html"]
        assert list(body["attachments"]) == ["SB100-JFK-LHR.ics"]
    await outbox_settled(db)
    job = await db.fetchrow("SELECT outcome, done_at FROM scheduled_jobs"
                            " WHERE kind = 'checkin_open'")  # fmt: skip
    assert job["outcome"] == "queued 2"
    # The departure-day reminder waits for its time.
    assert (
        await db.fetchval("SELECT done_at FROM scheduled_jobs WHERE kind = 'departure_reminder'")
        is None
    )
    assert len(mailbox.messages) == 2
    assert str(booked.booking) in parts(messages[0])["text"]  # the check-in link
